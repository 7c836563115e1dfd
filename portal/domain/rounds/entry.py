"""Round times as people enter them: a date and a time on the wall clock of the round's zone.

Forms (and anything else that takes local times) come through here, so a time that
does not exist or happens twice at a clock change is refused with the same message
everywhere, and every problem with the entry is reported at once, per field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from portal.domain.audit import Actor
from portal.domain.errors import DomainError, ValidationErrors
from portal.domain.outbox.messages import Mail
from portal.domain.rounds.phase import MAX_GRACE_MINUTES, get_round
from portal.domain.rounds.times import (
    RoundExtendedNotice,
    create_round,
    ensure_reason,
    extend_round,
)
from portal.domain.seats.editing import get_seat
from portal.domain.timerules import (
    DEFAULT_ZONE,
    InvalidLocalTime,
    ensure_aware_utc,
    parse_local,
    zone,
)

# The zones offered in the form; any zone `timerules.zone` knows is accepted.
ROUND_ZONES: tuple[str, ...] = ("Europe/London", "Europe/Dublin", "Europe/Brussels", "UTC")
DEFAULT_GRACE_MINUTES = 10
_LABELS = {"opens": "Opening", "closes": "Closing"}


@dataclass
class RoundInput:
    """What the new-round form sends; every value is text until checked here."""

    timezone: str = DEFAULT_ZONE
    opens_date: str = ""
    opens_time: str = ""
    closes_date: str = ""
    closes_time: str = ""
    grace_minutes: str = str(DEFAULT_GRACE_MINUTES)
    anonymised: bool = True
    nomination_required: bool = False


@dataclass
class ExtensionInput:
    closes_date: str = ""
    closes_time: str = ""
    reason: str = ""


def _local(
    prefix: str, day: str, clock: str, zone_name: str, errors: dict[str, str]
) -> datetime | None:
    """Parse one date + time pair, filing any error under `<prefix>_date` or `<prefix>_time`."""
    try:
        return parse_local(day or "", clock or "", zone_name)
    except InvalidLocalTime as exc:
        part = exc.field if exc.field in ("date", "time") else "date"
        errors[f"{prefix}_{part}"] = f"{_LABELS[prefix]} {part}: {exc.message}"
        return None


def _grace(value: str, errors: dict[str, str]) -> int:
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > 4 or int(text) > MAX_GRACE_MINUTES:
        errors["grace_minutes"] = (
            f"Enter the grace period as a whole number of minutes from 0 to {MAX_GRACE_MINUTES}."
        )
        return DEFAULT_GRACE_MINUTES
    return int(text)


async def create_round_from_input(
    seat_id: int, data: RoundInput, actor: Actor, now: datetime
) -> int:
    """Create a round from local dates and times; all entry problems are reported together."""
    await get_seat(seat_id)
    errors: dict[str, str] = {}
    zone_name = (data.timezone or "").strip()
    try:
        zone(zone_name)
    except InvalidLocalTime as exc:
        errors["timezone"] = exc.message
        zone_name = ""
    opens_at = closes_at = None
    if zone_name:
        opens_at = _local("opens", data.opens_date, data.opens_time, zone_name, errors)
        closes_at = _local("closes", data.closes_date, data.closes_time, zone_name, errors)
    grace = _grace(data.grace_minutes, errors)
    if opens_at and closes_at:
        if closes_at <= opens_at:
            errors["closes_date"] = "The closing time must be after the opening time."
        elif closes_at <= ensure_aware_utc(now):
            errors["closes_date"] = "The closing time must be in the future."
    if errors or opens_at is None or closes_at is None:
        raise ValidationErrors(
            errors=errors or {"opens_date": "Enter when the round opens and closes."}
        )
    return await create_round(
        seat_id,
        opens_at,
        closes_at,
        actor,
        now,
        timezone=zone_name,
        grace_minutes=grace,
        anonymised=bool(data.anonymised),
        nomination_required=bool(data.nomination_required),
    )


async def extend_round_from_input(
    round_id: int,
    data: ExtensionInput,
    actor: Actor,
    now: datetime,
    *,
    compose_mail: Callable[[RoundExtendedNotice], Mail] | None = None,
) -> list[int]:
    """Extend the whole round to a new local closing time, with a reason for the record.

    Returns the outbox ids of the mails to applicants with drafts (see `extend_round`).
    """
    row = await get_round(round_id)
    errors: dict[str, str] = {}
    new_closes_at = _local("closes", data.closes_date, data.closes_time, row["timezone"], errors)
    try:
        ensure_reason(data.reason)
    except DomainError as exc:
        errors["reason"] = exc.message
    if errors or new_closes_at is None:
        raise ValidationErrors(errors=errors)
    try:
        return await extend_round(
            round_id, new_closes_at, data.reason, actor, now, compose_mail=compose_mail
        )
    except DomainError as exc:
        if exc.field == "closes":  # the rule's own name for the closing time
            raise ValidationErrors(errors={"closes_date": exc.message}) from None
        raise
