"""The portal addresses mails link to, built on the public base URL."""

from __future__ import annotations

from portal.domain.reminders.optout import unsubscribe_token
from portal.settings import Settings


def link_to(settings: Settings, path: str) -> str:
    return f"{settings.base_url}{path}"


def invitation_link(settings: Settings, token: str) -> str:
    """An admin invitation (`portal.web.admin.people`)."""
    return link_to(settings, f"/admin/invitations/{token}")


def application_link(settings: Settings, application_id: int) -> str:
    """The applicant's own page of one application (`portal.web.apply`)."""
    return link_to(settings, f"/applications/{application_id}")


def panel_invitation_link(settings: Settings, token: str) -> str:
    return link_to(settings, f"/panel/invitations/{token}")


def panel_link(settings: Settings, round_id: int) -> str:
    """The member's page for the round's panel (`portal.web.panel`)."""
    return link_to(settings, f"/panel/rounds/{round_id}")


def unsubscribe_link(settings: Settings, user_id: int) -> str:
    """Stops deadline reminders; the token is its own credential (`portal.domain.reminders.optout`)."""
    return link_to(
        settings, f"/reminders/unsubscribe/{unsubscribe_token(settings.secret_key, user_id)}"
    )
