"""The Jinja filters and globals that pages and mails share. No web framework here:
`portal.web.templating` adds them to Litestar's environment, `portal.mail.render` to
the mail environment workers render with."""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment

from portal.domain.timerules import DEFAULT_ZONE, describe_remaining, format_date, format_instant
from portal.settings import Settings


def _instant(value: datetime | None, zone_name: str = DEFAULT_ZONE) -> str:
    return format_instant(value, zone_name) if value else ""


def _utc(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def configure_environment(env: Environment, settings: Settings) -> None:
    env.filters["instant"] = _instant
    env.filters["day"] = format_date
    env.filters["utc"] = _utc
    env.filters["remaining"] = describe_remaining
    env.globals["base_url"] = settings.base_url
    env.globals["site_name"] = "Seat portal"
    env.trim_blocks = True
    env.lstrip_blocks = True
