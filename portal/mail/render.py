"""Rendering mail templates into outbox mails, without a request or a web framework.

Workers render reminders and the web process renders receipts with the same
environment, so a mail reads the same whoever builds it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from portal.domain.outbox.messages import Mail
from portal.jinja_filters import configure_environment
from portal.settings import TEMPLATES_DIR, Settings

# Marks mail as sent by a machine (RFC 3834), so auto-responders stay quiet.
AUTOMATIC = {"Auto-Submitted": "auto-generated"}


@lru_cache(maxsize=8)
def mail_environment(settings: Settings) -> Environment:
    """HTML bodies are autoescaped; subjects and text bodies are not HTML."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    )
    configure_environment(env, settings)
    return env


def render_mail(env: Environment, name: str, **context: Any) -> tuple[str, str, str]:
    """Render `templates/email/<name>.{subject.txt,txt,html}` into (subject, text, html)."""
    subject = env.get_template(f"email/{name}.subject.txt").render(**context).strip()
    text = env.get_template(f"email/{name}.txt").render(**context)
    html = env.get_template(f"email/{name}.html").render(**context)
    return " ".join(subject.split()), text, html


def templated_mail(
    settings: Settings,
    template: str,
    *,
    kind: str,
    dedupe_key: str,
    recipient: str,
    round_id: int | None = None,
    **context: Any,
) -> Mail:
    """Render `templates/email/<template>.*` into an outbox Mail marked as automatic."""
    subject, text, html = render_mail(mail_environment(settings), template, **context)
    return Mail(
        kind=kind,
        dedupe_key=dedupe_key,
        recipient=recipient,
        subject=subject,
        body_text=text,
        body_html=html,
        round_id=round_id,
        headers=dict(AUTOMATIC),
    )
