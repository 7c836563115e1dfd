"""Mails about accounts: the invitation to become an admin, and the applicant's
confirmation, sign-in link, password reset and "you already have an account".

None of them carries a password: the person sets one in the portal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from urllib.parse import urlencode

from portal.domain.accounts.admins import NewInvitation
from portal.domain.accounts.links import AccountMessage, next_signature
from portal.domain.outbox.messages import Mail
from portal.mail.links import invitation_link, link_to
from portal.mail.render import templated_mail
from portal.settings import Settings


def invitation_mail(
    settings: Settings,
    *,
    name: str,
    email: str,
    link: str,
    expires_at: datetime,
    invited_by: str,
    invitation_id: int,
) -> Mail:
    """The invitation to become an admin: who asked, what the portal is, the link and its expiry."""
    return templated_mail(
        settings,
        "invitation",
        kind="invitation",
        # One mail per invitation: a re-invite is a new invitation, so a new key.
        dedupe_key=f"invitation:{invitation_id}",
        recipient=email,
        recipient_name=name,  # `name` is render_mail's own parameter (the template)
        link=link,
        expires_at=expires_at,
        invited_by=invited_by,
        sign_in_url=link_to(settings, "/admin/sign-in"),
    )


def compose_invitation(settings: Settings):
    """The callback `portal.domain.accounts.admins.invite_admin` calls inside its transaction."""

    def compose(invitation: NewInvitation) -> Mail:
        return invitation_mail(
            settings,
            name=invitation.name,
            email=invitation.email,
            link=invitation_link(settings, invitation.token),
            expires_at=invitation.expires_at,
            invited_by=invitation.invited_by,
            invitation_id=invitation.invitation_id,
        )

    return compose


# Mail kind -> (template, path of its link). The link's token is the mail's secret.
_ACCOUNT_MAILS = {
    "verify": ("verify", "/account/verify/"),
    "sign_in": ("sign_in_link", "/account/link/"),
    "reset": ("reset", "/account/reset/"),
    "already_registered": ("already_registered", None),
}


def account_mail(settings: Settings, message: AccountMessage, next_path: str = "") -> Mail:
    """Confirmation, sign-in link, password reset or "you already have an account".

    None of them carries a password: the person sets one in the portal. `next_path`: where
    the person was going (a seat's application, say); the confirmation and sign-in links
    carry it, signed, and the "already registered" mail's sign-in address carries it too.
    """
    template, path = _ACCOUNT_MAILS[message.kind]
    link = link_to(settings, f"{path}{message.token}") if path and message.token else None
    destination = ""
    if next_path:
        signature = next_signature(settings.secret_key, next_path)
        destination = urlencode({"next": next_path, "sig": signature})
    if link and destination and message.kind in ("verify", "sign_in"):
        link = f"{link}?{destination}"
    sign_in_path = "/account/sign-in" + (f"?{urlencode({'next': next_path})}" if next_path else "")
    return templated_mail(
        settings,
        template,
        kind=message.kind,
        dedupe_key=f"account:{message.key}",
        recipient=message.email,
        recipient_name=message.name,
        link=link,
        expires_at=message.expires_at,
        sign_in_url=link_to(settings, sign_in_path),
        reset_url=link_to(settings, "/account/reset"),
        admin_sign_in_url=link_to(settings, "/admin/sign-in"),
    )


def compose_account_mail(settings: Settings, next_path: str = "") -> Callable[..., Mail]:
    """The callback `portal.domain.accounts.applicants` calls inside its transaction;
    `next_path` (already checked to be a local path) rides along in the links."""
    return partial(account_mail, settings, next_path=next_path)
