"""Mails to panel members: the invitation to sit on a round's panel, and "the shortlist
pack is ready".

The pack mail names the seat, says how many applications were shortlisted and links
to the pack behind sign-in: no applicant's name, organisation or contact details ever
travel by mail.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from portal.domain.outbox.messages import Mail
from portal.domain.outcomes.pack_mail import PackNotice, pack_path
from portal.domain.panels.invitations import PanelInvitation
from portal.mail.links import link_to, panel_invitation_link
from portal.mail.render import templated_mail
from portal.settings import Settings


def panel_invitation_mail(settings: Settings, invitation: PanelInvitation) -> Mail:
    """Who asked, which seat, what a panel member does, the link and its expiry.

    Someone who already has an account is told so and asked to sign in with it:
    no second account is made. One mail per link: a resend is a new token, so a new key.
    """
    return templated_mail(
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
        sign_in_url=link_to(settings, "/account/sign-in"),
    )


def compose_panel_invitation(settings: Settings) -> Callable[[PanelInvitation], Mail]:
    """The callback `portal.domain.panels.invitations.invite_member` calls inside its transaction."""
    return partial(panel_invitation_mail, settings)


def pack_mail(settings: Settings, notice: PackNotice) -> Mail:
    return templated_mail(
        settings,
        "shortlist_pack",
        kind="shortlist_pack",
        # One per member and round: a retried confirmation writes none twice.
        dedupe_key=f"pack:{notice.round_id}:{notice.member_id}",
        recipient=notice.email,
        round_id=notice.round_id,
        recipient_name=notice.name,
        seat_title=notice.seat_title,
        shortlisted=notice.shortlisted,
        link=link_to(settings, pack_path(notice.round_id)),
    )


def compose_pack_mail(settings: Settings) -> Callable[[PackNotice], Mail]:
    """The callback `portal.domain.outcomes.pack_mail.queue_pack_mails` calls inside the confirm transaction."""
    return partial(pack_mail, settings)
