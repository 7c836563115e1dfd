"""The seat portal."""
