"""The settings workers use. A `dramatiq` worker process reads them from the
environment; the embedded mode (and each test) hands over the app's own."""

from __future__ import annotations

from portal.settings import Settings

_settings: Settings | None = None


def configure(settings: Settings) -> None:
    global _settings
    _settings = settings


def settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings
