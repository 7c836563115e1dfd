"""One typed, immutable settings object, read from the environment once.

Every setting is a `PORTAL_*` variable; the README and `.env.example` list them all
(a test fails when one is undocumented). Defaults are safe for the embedded mode
only: in production the app refuses to start until the unsafe ones are set.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"

ENVIRONMENTS = ("development", "test", "production")

# name -> (default, one-line description). The README documents each of these.
SETTINGS_DOC: dict[str, tuple[str, str]] = {
    "PORTAL_ENV": (
        "development",
        "development, test (cheapest password hashes) or production (enforces safe settings)",
    ),
    "PORTAL_DATABASE_URL": (
        "sqlite:///var/portal.sqlite3",
        "sqlite:///path or postgresql://user:pass@host:port/db",
    ),
    "PORTAL_REDIS_URL": (
        "",
        "redis://host:port/db for the broker, sessions and rate limits; unset = embedded",
    ),
    "PORTAL_BROKER_URL": (
        "",
        "redis://host:port/db for the Dramatiq broker only; unset = PORTAL_REDIS_URL",
    ),
    "PORTAL_SMTP_URL": (
        "",
        "smtp://user:pass@host:port (smtps:// for TLS, ?starttls=1); unset = local mailbox",
    ),
    "PORTAL_MAIL_FROM": ("Seat portal <no-reply@localhost>", "From address of every mail"),
    "PORTAL_SECRET_KEY": (
        "",
        "secret for CSRF and signed links; generated under var/ in the embedded mode",
    ),
    "PORTAL_BASE_URL": (
        "",
        "public address used in mails, feeds and calendars; unset = http://PORTAL_HOST:PORTAL_PORT",
    ),
    "PORTAL_HOST": ("127.0.0.1", "address `portal run` listens on"),
    "PORTAL_PORT": ("8000", "port `portal run` listens on"),
    "PORTAL_VAR_DIR": (
        "var",
        "folder for the SQLite file, the secret, the mailbox and sessions (embedded mode)",
    ),
    "PORTAL_SECURE_COOKIES": ("", "1/0; defaults to 1 in production, 0 otherwise"),
    "PORTAL_TRUSTED_PROXIES": (
        "",
        "comma-separated addresses whose X-Forwarded-For/-Proto are believed",
    ),
    "PORTAL_EMBEDDED_WORKER": (
        "",
        "1/0: run a Dramatiq worker inside the web process; default 1 without Redis",
    ),
    "PORTAL_EMBEDDED_SCHEDULER": (
        "",
        "1/0: run the scheduler inside the web process; default 1 without Redis",
    ),
    "PORTAL_SWEEP_SECONDS": (
        "5",
        "how often the scheduler re-drives pending and stuck outbox rows",
    ),
    "PORTAL_REMINDER_SECONDS": (
        "60",
        "how often the scheduler looks for reminders that have fallen due",
    ),
    "PORTAL_MAIL_MAX_AGE_HOURS": (
        "24",
        "a mail not sent within this many hours is held until an admin retries or discards it",
    ),
    "PORTAL_PUBLIC_CACHE_SECONDS": (
        "10",
        "how long public pages are cached; admin changes clear the cache",
    ),
    "PORTAL_SESSION_HOURS": ("8", "how long a sign-in lasts"),
    "PORTAL_INVITE_HOURS": ("72", "how long an invitation link stays valid"),
    "PORTAL_LOG_LEVEL": ("INFO", "logging level"),
    "PORTAL_DATABASE_POOL": (
        "",
        "PostgreSQL connections each web or worker process keeps open; default 10 in production, 0 (a connection per query) otherwise",
    ),
    "PORTAL_UPLOAD_MAX_MB": (
        "5",
        "largest document (CV, supporting document) an applicant can upload, in MB",
    ),
}


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names the variable to fix."""


def _flag(value: str, default: bool) -> bool:
    if value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"expected 1 or 0, got {value!r}")


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = "sqlite:///var/portal.sqlite3"
    redis_url: str | None = None
    broker_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "Seat portal <no-reply@localhost>"
    secret_key: str = field(default="", repr=False)
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: Path = Path("var")
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = ()
    embedded_worker: bool = True
    embedded_scheduler: bool = True
    sweep_seconds: float = 5.0
    reminder_seconds: float = 60.0
    mail_max_age_hours: float = 24.0
    public_cache_seconds: int = 10
    session_hours: int = 8
    invite_hours: int = 72
    log_level: str = "INFO"
    database_pool: int = 0
    upload_max_mb: float = 5

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def upload_max_bytes(self) -> int:
        return int(self.upload_max_mb * 1024 * 1024)

    @property
    def mailbox_dir(self) -> Path:
        return self.var_dir / "mailbox"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)

        def get(name: str) -> str:
            return env.get(name, SETTINGS_DOC[name][0]).strip()

        def number(name: str, kind: type = int) -> int | float:
            try:
                return kind(get(name))
            except ValueError:
                raise SettingsError(f"{name} must be a number, got {get(name)!r}") from None

        def flag(name: str, default: bool) -> bool:
            try:
                return _flag(get(name), default)
            except SettingsError as exc:
                raise SettingsError(f"{name}: {exc}") from None

        name = get("PORTAL_ENV")
        if name not in ENVIRONMENTS:
            raise SettingsError(
                f"PORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}, got {name!r}"
            )
        production = name == "production"
        var_dir = Path(get("PORTAL_VAR_DIR"))
        redis_url = get("PORTAL_REDIS_URL") or None
        broker_url = get("PORTAL_BROKER_URL") or redis_url
        database_url = get("PORTAL_DATABASE_URL")
        if database_url.startswith("sqlite:///var/") and var_dir != Path("var"):
            database_url = f"sqlite:///{var_dir / database_url.removeprefix('sqlite:///var/')}"
        settings = cls(
            env=name,
            database_url=database_url,
            redis_url=redis_url,
            broker_url=broker_url,
            smtp_url=get("PORTAL_SMTP_URL") or None,
            mail_from=get("PORTAL_MAIL_FROM"),
            secret_key=get("PORTAL_SECRET_KEY"),
            # Unset, the address follows the host and port the embedded server listens on.
            base_url=(
                env.get("PORTAL_BASE_URL") or f"http://{get('PORTAL_HOST')}:{get('PORTAL_PORT')}"
            )
            .strip()
            .rstrip("/"),
            host=get("PORTAL_HOST"),
            port=int(number("PORTAL_PORT")),
            var_dir=var_dir,
            secure_cookies=flag("PORTAL_SECURE_COOKIES", production),
            trusted_proxies=tuple(
                p.strip() for p in get("PORTAL_TRUSTED_PROXIES").split(",") if p.strip()
            ),
            embedded_worker=flag("PORTAL_EMBEDDED_WORKER", broker_url is None),
            embedded_scheduler=flag("PORTAL_EMBEDDED_SCHEDULER", broker_url is None),
            sweep_seconds=float(number("PORTAL_SWEEP_SECONDS", float)),
            reminder_seconds=float(number("PORTAL_REMINDER_SECONDS", float)),
            mail_max_age_hours=float(number("PORTAL_MAIL_MAX_AGE_HOURS", float)),
            public_cache_seconds=int(number("PORTAL_PUBLIC_CACHE_SECONDS")),
            session_hours=int(number("PORTAL_SESSION_HOURS")),
            invite_hours=int(number("PORTAL_INVITE_HOURS")),
            log_level=get("PORTAL_LOG_LEVEL").upper(),
            database_pool=int(number("PORTAL_DATABASE_POOL"))
            if get("PORTAL_DATABASE_POOL")
            else (10 if production else 0),
            upload_max_mb=float(number("PORTAL_UPLOAD_MAX_MB", float)),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse unsafe production settings, naming the variable to fix."""
        if not (
            self.database_url.startswith("sqlite:///") or self.database_url.startswith("postgres")
        ):
            raise SettingsError("PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://")
        if self.mail_max_age_hours <= 0:
            raise SettingsError("PORTAL_MAIL_MAX_AGE_HOURS must be a positive number of hours")
        if self.upload_max_mb <= 0:
            raise SettingsError("PORTAL_UPLOAD_MAX_MB must be a positive number of megabytes")
        if not self.is_production:
            return
        if len(self.secret_key) < 32:
            raise SettingsError(
                "PORTAL_SECRET_KEY must be set to at least 32 random characters in production"
            )
        if not self.secure_cookies:
            raise SettingsError(
                "PORTAL_SECURE_COOKIES must not be 0 in production (cookies would travel over plain HTTP)"
            )
        if not self.redis_url:
            raise SettingsError(
                "PORTAL_REDIS_URL must be set in production (the embedded stub broker loses messages)"
            )
        if not self.base_url.startswith("https://"):
            raise SettingsError("PORTAL_BASE_URL must be an https:// address in production")

    def with_secret(self) -> Settings:
        """Return settings with a secret key, generating and keeping one under var/ if needed."""
        if self.secret_key:
            return self
        path = self.var_dir / "secret_key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting at once keep the same secret
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return _replace(self, secret_key=path.read_text().strip())


def _replace(settings: Settings, **changes: object) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)  # type: ignore[arg-type]
