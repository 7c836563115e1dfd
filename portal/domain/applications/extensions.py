"""A per-applicant deadline extension: a reasonable adjustment, a later closing time for
one person, with a reason, audited and mailed to them in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from portal.domain.applications.admin_queries import load_for_admin
from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, ValidationErrors
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.rounds.entry import ensure_reason
from portal.domain.timerules import (
    ensure_aware_utc,
    format_instant,
    read_local,
)
from portal.tables import (
    DeadlineExtension,
)


@dataclass
class ApplicantExtensionInput:
    """The extension form as sent: the new closing time on the round's wall clock, and why."""

    closes_date: str = ""
    closes_time: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ExtensionGrantedNotice:
    """What the mail to the applicant needs (never the reason: it may be about their health)."""

    extension_id: int
    round_id: int
    application_id: int
    name: str
    email: str
    seat_title: str
    round_closes_at: datetime
    closes_at: datetime
    zone_name: str


async def grant_extension(
    application_id: int,
    data: ApplicantExtensionInput,
    actor: Actor,
    now: datetime,
    *,
    compose_mail: Callable[[ExtensionGrantedNotice], Mail] | None = None,
) -> list[int]:
    """Give this application's applicant a later closing time. Returns outbox ids to dispatch.

    The new time must be after the round's closing time (otherwise it changes nothing),
    after any extension they already have (an extension never cuts anyone off) and in
    the future. All entry problems are reported together, per field.
    """
    view = await load_for_admin(application_id)
    if not view.can_extend:
        raise Conflict(
            "This round has moved past collecting applications; deadlines can no longer change."
        )
    zone_name = view.zone_name
    errors: dict[str, str] = {}
    closes_at = read_local(
        data.closes_date, data.closes_time, zone_name, errors, label="New deadline", key="closes"
    )
    reason = ""
    try:
        reason = ensure_reason(data.reason)
    except DomainError as exc:
        errors["reason"] = exc.message
    if closes_at is not None:
        round_closes = ensure_aware_utc(view.round["closes_at"])
        if closes_at <= round_closes:
            errors["closes_date"] = (
                "The new deadline must be later than the round's closing time, "
                f"{format_instant(round_closes, zone_name)}."
            )
        elif view.deadline.extended and closes_at <= view.deadline.closes_at:
            errors["closes_date"] = (
                "The new deadline must be later than this applicant's current deadline, "
                f"{format_instant(view.deadline.closes_at, zone_name)}."
            )
        elif closes_at <= ensure_aware_utc(now):
            errors["closes_date"] = "The new deadline must be in the future."
    if errors or closes_at is None:
        raise ValidationErrors(errors=errors)
    now = ensure_aware_utc(now)
    applicant_id = view.application["applicant"]
    inserted = await DeadlineExtension.insert(
        DeadlineExtension(
            round=view.round["id"],
            applicant=applicant_id,
            previous_closes_at=view.deadline.closes_at,
            closes_at=closes_at,
            reason=reason,
            granted_by=actor.user_id,
            created_at=now,
        )
    ).returning(DeadlineExtension.id)
    extension_id = inserted[0]["id"]
    await record_event(
        actor,
        "application.extension_granted",
        "application",
        application_id,
        now,
        round_id=view.round["id"],
        detail={
            "applicant_id": applicant_id,
            "from": view.deadline.closes_at.isoformat(),
            "to": closes_at.isoformat(),
            "reason": reason,
        },
    )
    if compose_mail is None:
        return []
    notice = ExtensionGrantedNotice(
        extension_id=extension_id,
        round_id=view.round["id"],
        application_id=application_id,
        name=view.applicant.get("name") or "",
        email=view.applicant.get("email") or "",
        seat_title=view.seat["title"],
        round_closes_at=ensure_aware_utc(view.round["closes_at"]),
        closes_at=closes_at,
        zone_name=zone_name,
    )
    message_id = await enqueue_mail(compose_mail(notice), now)
    return [message_id] if message_id is not None else []
