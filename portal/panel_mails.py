"""Mails about panels: the invitation to sit on a round's panel.

Kept apart from `portal.mails` so panel work grows in its own module; it uses the
same renderer, so the mail looks and behaves like every other one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from portal.domain.outbox.messages import Mail
from portal.domain.panels.invitations import PanelInvitation
from portal.mails import _templated_mail
from portal.settings import Settings


def panel_invitation_link(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/panel/invitations/{token}"


def panel_invitation_mail(settings: Settings, invitation: PanelInvitation) -> Mail:
    """Who asked, which seat, what a panel member does, the link and its expiry.

    Someone who already has an account is told so and asked to sign in with it:
    no second account is made. One mail per link: a resend is a new token, so a new key.
    """
    return _templated_mail(
        settings,
        "panel_invitation",
        kind="panel_invitation",
        dedupe_key=f"panel-invitation:{invitation.member_id}:{invitation.token_hash}",
        recipient=invitation.email,
        round_id=invitation.round_id,
        recipient_name=invitation.name,
        invited_by=invitation.invited_by,
        seat_title=invitation.seat_title,
        is_chair=invitation.role == "chair",
        existing_account=invitation.existing_account,
        link=panel_invitation_link(settings, invitation.token),
        expires_at=invitation.expires_at,
        sign_in_url=f"{settings.base_url}/account/sign-in",
    )


def compose_panel_invitation(settings: Settings) -> Callable[[PanelInvitation], Mail]:
    """The callback `portal.domain.panels.invitations.invite_member` calls inside its transaction."""
    return partial(panel_invitation_mail, settings)
