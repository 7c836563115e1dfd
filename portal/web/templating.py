"""Litestar's template engine for pages: autoescaped templates from `templates/`, with
the filters pages and mails share (`portal.jinja_filters`)."""

from __future__ import annotations

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from portal.jinja_filters import configure_environment
from portal.settings import TEMPLATES_DIR, Settings


def template_config(settings: Settings) -> TemplateConfig:
    def callback(engine: JinjaTemplateEngine) -> None:
        configure_environment(engine.engine, settings)

    return TemplateConfig(
        directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=callback
    )
