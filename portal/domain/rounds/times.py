"""A round's times as admins set them: creating a round, opening or closing it now, and
extending it (which tells applicants with drafts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, NotFound, ensure_record_id
from portal.domain.outbox.messages import Mail, enqueue_mails
from portal.domain.rounds.entry import (
    ExtensionInput,
    RoundInput,
    read_extension,
    read_round_times,
)
from portal.domain.rounds.phase import (
    RoundPhase,
    RoundStage,
    get_round,
    round_phase,
)
from portal.domain.statuses import ApplicationStatus
from portal.domain.timerules import (
    DEFAULT_ZONE,
    ensure_aware_utc,
)
from portal.tables import Application, DeadlineExtension, Round, Seat


async def create_round(seat_id: int, data: RoundInput, actor: Actor, now: datetime) -> int:
    """A new round of a seat, from the admin form or the API: every rule of the entry is
    checked here (`read_round_times`), so both refuse the same things with the same words."""
    ensure_record_id(seat_id, "There is no such seat.")
    if not await Seat.exists().where(Seat.id == seat_id):
        raise NotFound("There is no such seat.")
    times = read_round_times(data, now)
    rows = await Round.insert(
        Round(
            seat=seat_id,
            timezone=times.timezone,
            opens_at=times.opens_at,
            closes_at=times.closes_at,
            grace_minutes=times.grace_minutes,
            anonymised=times.anonymised,
            stage=RoundStage.collecting.value,
            created_at=ensure_aware_utc(now),
        )
    ).returning(Round.id)
    round_id = rows[0]["id"]
    await record_event(
        actor,
        "round.created",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={
            "seat_id": seat_id,
            "opens_at": times.opens_at.isoformat(),
            "closes_at": times.closes_at.isoformat(),
        },
    )
    return round_id


async def open_round_now(round_id: int, actor: Actor, now: datetime) -> None:
    row = await get_round(round_id)
    phase = round_phase(row["opens_at"], row["closes_at"], now)
    if phase is not RoundPhase.upcoming:
        raise Conflict("This round is already open or has closed.")
    await Round.update({Round.opens_at: ensure_aware_utc(now)}).where(Round.id == round_id)
    await record_event(
        actor,
        "round.opened_now",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={"planned_opens_at": row["opens_at"].isoformat()},
    )


async def close_round_now(round_id: int, actor: Actor, now: datetime) -> None:
    row = await get_round(round_id)
    if round_phase(row["opens_at"], row["closes_at"], now) is not RoundPhase.open:
        raise Conflict("Only an open round can be closed now.")
    await Round.update({Round.closes_at: ensure_aware_utc(now)}).where(Round.id == round_id)
    await record_event(
        actor,
        "round.closed_now",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={"planned_closes_at": row["closes_at"].isoformat()},
    )


@dataclass(frozen=True)
class RoundExtendedNotice:
    """What the "closing time has moved" mail to one applicant with a draft needs."""

    extension_id: int
    round_id: int
    application_id: int
    applicant_id: int
    name: str
    email: str
    seat_title: str
    previous_closes_at: datetime
    closes_at: datetime
    zone_name: str


async def extend_round(
    round_id: int,
    data: ExtensionInput,
    actor: Actor,
    now: datetime,
    *,
    compose_mail: Callable[[RoundExtendedNotice], Mail] | None = None,
) -> list[int]:
    """Move the whole round's closing time later. Earlier is refused: that would cut people off.

    Every applicant with a draft in the round is told, in this transaction, through
    `compose_mail` (the mail package has the templates). Returns the outbox ids for
    the caller to dispatch after commit.
    """
    row = await get_round(round_id)
    if RoundStage(row["stage"]) is not RoundStage.collecting:
        raise Conflict("This round has moved past collecting applications; it cannot be extended.")
    new_closes_at, reason = read_extension(
        data, row["timezone"] or DEFAULT_ZONE, row["closes_at"], now
    )
    inserted = await DeadlineExtension.insert(
        DeadlineExtension(
            round=round_id,
            applicant=None,
            previous_closes_at=row["closes_at"],
            closes_at=new_closes_at,
            reason=reason,
            granted_by=actor.user_id,
            created_at=ensure_aware_utc(now),
        )
    ).returning(DeadlineExtension.id)
    await Round.update({Round.closes_at: new_closes_at}).where(Round.id == round_id)
    await record_event(
        actor,
        "round.extended",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={
            "from": row["closes_at"].isoformat(),
            "to": new_closes_at.isoformat(),
            "reason": reason,
        },
    )
    if compose_mail is None:
        return []
    return await _notify_drafts(
        inserted[0]["id"], row, new_closes_at, compose_mail, ensure_aware_utc(now)
    )


async def _notify_drafts(
    extension_id: int,
    row: dict[str, Any],
    new_closes_at: datetime,
    compose_mail: Callable[[RoundExtendedNotice], Mail],
    now: datetime,
) -> list[int]:
    """One mail per applicant with a draft; the key names the extension, so a retry sends none twice."""
    seat = await Seat.select(Seat.title).where(Seat.id == row["seat"]).first()
    drafts = await Application.select(
        Application.id,
        Application.applicant,
        Application.applicant.name.as_alias("name"),
        Application.applicant.email.as_alias("email"),
    ).where(
        (Application.round == row["id"]) & (Application.status == ApplicationStatus.draft.value)
    )
    mails = [
        compose_mail(
            RoundExtendedNotice(
                extension_id=extension_id,
                round_id=row["id"],
                application_id=draft["id"],
                applicant_id=draft["applicant"],
                name=draft["name"],
                email=draft["email"],
                seat_title=seat["title"] if seat else "",
                previous_closes_at=row["closes_at"],
                closes_at=new_closes_at,
                zone_name=row.get("timezone") or DEFAULT_ZONE,
            )
        )
        for draft in drafts
    ]
    written = await enqueue_mails(mails, now)  # one INSERT, not one per draft
    return sorted(written.values())
