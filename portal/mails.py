"""Every mail the portal sends, built from `templates/email/<name>.*` into an outbox Mail.

One function per kind of mail. Each takes plain values (no requests, no rows to
load), so web handlers and workers build the same mail, and the domain can queue it
in the transaction that caused it without knowing about templates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from jinja2 import Environment

from portal.domain.accounts.admins import NewInvitation
from portal.domain.accounts.links import AccountMessage
from portal.domain.applications.extensions import ExtensionGrantedNotice
from portal.domain.applications.submission import Receipt
from portal.domain.outbox.messages import Mail
from portal.domain.rounds.times import RoundExtendedNotice
from portal.settings import Settings
from portal.web.templating import mail_environment, render_mail

# Marks mail as sent by a machine (RFC 3834), so auto-responders stay quiet.
AUTOMATIC = {"Auto-Submitted": "auto-generated"}


@lru_cache(maxsize=8)
def _environment(settings: Settings) -> Environment:
    return mail_environment(settings)


def _templated_mail(
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
    subject, text, html = render_mail(_environment(settings), template, **context)
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
    return _templated_mail(
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
        sign_in_url=f"{settings.base_url}/admin/sign-in",
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
    return _templated_mail(
        settings,
        template,
        kind=message.kind,
        dedupe_key=f"account:{message.key}",
        recipient=message.email,
        recipient_name=message.name,
        link=link,
        expires_at=message.expires_at,
        sign_in_url=f"{settings.base_url}/account/sign-in",
        reset_url=f"{settings.base_url}/account/reset",
        admin_sign_in_url=f"{settings.base_url}/admin/sign-in",
    )


def compose_account_mail(settings: Settings) -> Callable[..., Mail]:
    """The callback `portal.domain.accounts.applicants` calls inside its transaction."""
    return partial(account_mail, settings)


# ---- Deadline extensions (issue 3) ------------------------------------------------


def application_link(settings: Settings, application_id: int) -> str:
    """The applicant's own page of one application (portal.web.apply)."""
    return f"{settings.base_url}/applications/{application_id}"


def round_extended_mail(settings: Settings, notice: RoundExtendedNotice) -> Mail:
    """To an applicant with a draft: the round's closing time has moved later."""
    return _templated_mail(
        settings,
        "round_extended",
        kind="round_extended",
        # One per extension and applicant: a retried transaction writes none twice.
        dedupe_key=f"round-extended:{notice.extension_id}:{notice.applicant_id}",
        recipient=notice.email,
        round_id=notice.round_id,
        recipient_name=notice.name,
        seat_title=notice.seat_title,
        previous_closes_at=notice.previous_closes_at,
        closes_at=notice.closes_at,
        zone_name=notice.zone_name,
        link=application_link(settings, notice.application_id),
    )


def compose_round_extended(settings: Settings) -> Callable[..., Mail]:
    """The callback `portal.domain.rounds.times.extend_round` calls inside its transaction."""
    return partial(round_extended_mail, settings)


def extension_granted_mail(settings: Settings, notice: ExtensionGrantedNotice) -> Mail:
    """To one applicant: an admin gave them a later deadline. The reason is not repeated:
    it may describe a health matter, and mail is not the place for it."""
    return _templated_mail(
        settings,
        "extension_granted",
        kind="extension_granted",
        dedupe_key=f"extension-granted:{notice.extension_id}",
        recipient=notice.email,
        round_id=notice.round_id,
        recipient_name=notice.name,
        seat_title=notice.seat_title,
        round_closes_at=notice.round_closes_at,
        closes_at=notice.closes_at,
        zone_name=notice.zone_name,
        link=application_link(settings, notice.application_id),
    )


def compose_extension_granted(settings: Settings) -> Callable[..., Mail]:
    """The callback `portal.domain.applications.extensions.grant_extension` calls in its transaction."""
    return partial(extension_granted_mail, settings)


# ---- Application receipts (issue 3) ------------------------------------------------


def receipt_mail(
    settings: Settings,
    receipt: Receipt,
    applicant: Mapping[str, Any],
    *,
    seat_title: str,
    round_id: int | None = None,
) -> Mail:
    """The receipt: reference, time received in UTC and in the round's zone, and the hash.

    One mail per submitted version: a double submit finds the same version (and the
    dedupe key refuses a second row); a resubmission after an edit is a new version.
    Whether it arrived inside the grace period is never said: that is for admins.
    """
    return _templated_mail(
        settings,
        "receipt",
        kind="receipt",
        dedupe_key=f"receipt:{receipt.application_id}:{receipt.version}",
        recipient=applicant.get("email", ""),
        round_id=round_id,
        recipient_name=applicant.get("name", ""),
        seat_title=seat_title,
        reference=receipt.reference,
        version=receipt.version,
        received_at=receipt.received_at,
        zone_name=receipt.zone_name,
        content_hash=receipt.content_hash,
        receipt_url=f"{settings.base_url}/applications/{receipt.application_id}/receipt",
        applications_url=f"{settings.base_url}/applications",
    )


def compose_receipt(settings: Settings, *, seat_title: str, round_id: int | None = None):
    """The callback `portal.domain.applications.submission.submit_application` calls inside its transaction."""

    def compose(receipt: Receipt, applicant: Mapping[str, Any]) -> Mail:
        return receipt_mail(settings, receipt, applicant, seat_title=seat_title, round_id=round_id)

    return compose
