"""Settings: typed, immutable, from the environment; production refuses unsafe values."""

import dataclasses
import re
from pathlib import Path

import pytest

from portal.settings import PROJECT_ROOT, SETTINGS_DOC, Settings, SettingsError

SAFE_PRODUCTION = {
    "PORTAL_ENV": "production",
    "PORTAL_SECRET_KEY": "s" * 48,
    "PORTAL_REDIS_URL": "redis://127.0.0.1:6379/0",
    "PORTAL_BASE_URL": "https://seats.example.org",
    "PORTAL_DATABASE_URL": "postgresql://portal@db/portal",
}


def test_defaults_are_the_embedded_mode():
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///var/")
    assert settings.redis_url is None and settings.smtp_url is None
    assert settings.embedded_worker and settings.embedded_scheduler
    assert not settings.secure_cookies


def test_settings_are_immutable():
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.env = "production"  # type: ignore[misc]


def test_safe_production_settings_start():
    settings = Settings.from_env(SAFE_PRODUCTION)
    assert settings.is_production and settings.secure_cookies and not settings.embedded_worker


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"PORTAL_SECRET_KEY": ""}, "PORTAL_SECRET_KEY"),
        ({"PORTAL_SECRET_KEY": "short"}, "PORTAL_SECRET_KEY"),
        ({"PORTAL_SECURE_COOKIES": "0"}, "PORTAL_SECURE_COOKIES"),
        ({"PORTAL_REDIS_URL": ""}, "PORTAL_REDIS_URL"),
        ({"PORTAL_BASE_URL": "http://seats.example.org"}, "PORTAL_BASE_URL"),
    ],
)
def test_production_refuses_unsafe_setting_and_names_it(change, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env({**SAFE_PRODUCTION, **change})


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"PORTAL_ENV": "staging"}, "PORTAL_ENV"),
        ({"PORTAL_PORT": "eighty"}, "PORTAL_PORT"),
        ({"PORTAL_SECURE_COOKIES": "maybe"}, "PORTAL_SECURE_COOKIES"),
        ({"PORTAL_DATABASE_URL": "mysql://x"}, "PORTAL_DATABASE_URL"),
    ],
)
def test_malformed_setting_is_refused_with_its_name(env, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)


def test_secret_is_generated_once_and_kept_under_var(tmp_path: Path):
    settings = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)})
    first = settings.with_secret()
    second = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)}).with_secret()
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_every_setting_is_documented_in_readme_and_env_example():
    readme = (PROJECT_ROOT / "README.md").read_text()
    example = (PROJECT_ROOT / ".env.example").read_text()
    for name in SETTINGS_DOC:
        assert f"`{name}`" in readme, f"{name} is not documented in README.md"
        assert re.search(rf"^{name}=", example, re.M), f"{name} is missing from .env.example"


def test_no_setting_is_read_that_is_not_documented():
    source = "\n".join(p.read_text() for p in (PROJECT_ROOT / "portal").rglob("*.py"))
    source += "\n".join(p.read_text() for p in (PROJECT_ROOT / "workers").rglob("*.py"))
    used = set(re.findall(r"\bPORTAL_[A-Z_]+\b", source)) - {"PORTAL_ADMIN_PASSWORD"}
    assert used <= set(SETTINGS_DOC), f"undocumented: {sorted(used - set(SETTINGS_DOC))}"


def test_base_url_follows_the_embedded_address_unless_set():
    assert Settings.from_env({"PORTAL_PORT": "8123"}).base_url == "http://127.0.0.1:8123"
    chosen = Settings.from_env(
        {"PORTAL_PORT": "8123", "PORTAL_BASE_URL": "https://seats.example.org/"}
    )
    assert chosen.base_url == "https://seats.example.org"
