"""Every mail the portal sends, built from `templates/email/<name>.*` into an outbox Mail.

One function per kind of mail. Each takes plain values (no requests, no rows to
load), so web handlers and workers build the same mail, and the domain can queue it
in the transaction that caused it without knowing about templates.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from jinja2 import Environment

from portal.domain.accounts import NewInvitation
from portal.domain.applicants import AccountMessage
from portal.domain.outbox import Mail
from portal.settings import Settings
from portal.web.templating import mail_environment, render_mail

# Marks mail as sent by a machine (RFC 3834), so auto-responders stay quiet.
AUTOMATIC = {"Auto-Submitted": "auto-generated"}


@lru_cache(maxsize=8)
def _environment(settings: Settings) -> Environment:
    return mail_environment(settings)


def invitation_link(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/admin/invitations/{token}"


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
    subject, text, html = render_mail(
        _environment(settings),
        "invitation",
        recipient_name=name,  # `name` is render_mail's own parameter (the template)
        link=link,
        expires_at=expires_at,
        invited_by=invited_by,
        sign_in_url=f"{settings.base_url}/admin/sign-in",
    )
    return Mail(
        kind="invitation",
        # One mail per invitation: a re-invite is a new invitation, so a new key.
        dedupe_key=f"invitation:{invitation_id}",
        recipient=email,
        subject=subject,
        body_text=text,
        body_html=html,
        headers=dict(AUTOMATIC),
    )


def compose_invitation(settings: Settings):
    """The callback `portal.domain.accounts.invite_admin` calls inside its transaction."""

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


# ---- Applicant accounts (issue 3) -------------------------------------------------

# Mail kind -> (template, path of its link). The link's token is the mail's secret.
_ACCOUNT_MAILS = {
    "verify": ("verify", "/account/verify/"),
    "sign_in": ("sign_in_link", "/account/link/"),
    "reset": ("reset", "/account/reset/"),
    "already_registered": ("already_registered", None),
}


def account_mail(settings: Settings, message: AccountMessage) -> Mail:
    """Confirmation, sign-in link, password reset or "you already have an account".

    None of them carries a password: the person sets one in the portal.
    """
    template, path = _ACCOUNT_MAILS[message.kind]
    link = f"{settings.base_url}{path}{message.token}" if path and message.token else None
    subject, text, html = render_mail(
        _environment(settings),
        template,
        recipient_name=message.name,
        link=link,
        expires_at=message.expires_at,
        sign_in_url=f"{settings.base_url}/account/sign-in",
        reset_url=f"{settings.base_url}/account/reset",
        admin_sign_in_url=f"{settings.base_url}/admin/sign-in",
    )
    return Mail(
        kind=message.kind,
        dedupe_key=f"account:{message.key}",
        recipient=message.email,
        subject=subject,
        body_text=text,
        body_html=html,
        headers=dict(AUTOMATIC),
    )


def compose_account_mail(settings: Settings):
    """The callback `portal.domain.applicants` calls inside its transaction."""

    def compose(message: AccountMessage) -> Mail:
        return account_mail(settings, message)

    return compose
