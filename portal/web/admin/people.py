"""Admin pages (filled in by its issue work)."""

controllers: list = []
public_controllers: list = []
