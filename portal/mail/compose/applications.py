"""Mails about applications: the receipt, a round's extension to applicants with drafts,
and one applicant's own extension.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from portal.domain.applications.extensions import ExtensionGrantedNotice
from portal.domain.applications.submission import Receipt
from portal.domain.outbox.messages import Mail
from portal.domain.rounds.times import RoundExtendedNotice
from portal.mail.links import application_link, link_to
from portal.mail.render import templated_mail
from portal.settings import Settings


def round_extended_mail(settings: Settings, notice: RoundExtendedNotice) -> Mail:
    """To an applicant with a draft: the round's closing time has moved later."""
    return templated_mail(
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
    return templated_mail(
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
    return templated_mail(
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
        closes_at=receipt.closes_at,
        # Only a receipt received before the applicant's effective deadline may say the
        # application can still be changed; one received in the grace never does.
        can_still_change=receipt.received_at < receipt.closes_at,
        content_hash=receipt.content_hash,
        receipt_url=link_to(settings, f"/applications/{receipt.application_id}/receipt"),
        applications_url=link_to(settings, "/applications"),
    )


def compose_receipt(settings: Settings, *, seat_title: str, round_id: int | None = None):
    """The callback `portal.domain.applications.submission.submit_application` calls inside its transaction."""

    def compose(receipt: Receipt, applicant: Mapping[str, Any]) -> Mail:
        return receipt_mail(settings, receipt, applicant, seat_title=seat_title, round_id=round_id)

    return compose
