"""The Jinja environment: autoescaped templates from `templates/`, with the time filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from portal.domain.timerules import DEFAULT_ZONE, describe_remaining, format_date, format_instant
from portal.settings import TEMPLATES_DIR, Settings


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


def template_config(settings: Settings) -> TemplateConfig:
    def callback(engine: JinjaTemplateEngine) -> None:
        configure_environment(engine.engine, settings)

    return TemplateConfig(
        directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=callback
    )


def mail_environment(settings: Settings) -> Environment:
    """A separate environment for mail bodies (workers render without a request)."""
    from jinja2 import FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    )
    configure_environment(env, settings)
    return env


def render_mail(env: Environment, name: str, **context: Any) -> tuple[str, str, str]:
    """Render `templates/email/<name>.{subject,txt,html}` into (subject, text, html)."""
    subject = env.get_template(f"email/{name}.subject.txt").render(**context).strip()
    text = env.get_template(f"email/{name}.txt").render(**context)
    html = env.get_template(f"email/{name}.html").render(**context)
    return " ".join(subject.split()), text, html
