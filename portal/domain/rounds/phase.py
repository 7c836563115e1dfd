"""Whether a round is upcoming, open or closed (from its times and the clock), its stage,
and loading one.

"Upcoming / open / closed" is never stored: it is computed from `opens_at`,
`closes_at` and `now`, so no job has to remember to flip a flag at the deadline.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.domain.errors import NotFound, ensure_record_id
from portal.domain.timerules import (
    DEFAULT_ZONE,
    describe_remaining,
    ensure_aware_utc,
    format_instant,
)
from portal.tables import Round

MAX_GRACE_MINUTES = 60


class RoundPhase(enum.StrEnum):
    upcoming = "upcoming"
    open = "open"
    closed = "closed"


class RoundStage(enum.StrEnum):
    collecting = "collecting"
    scoring = "scoring"
    shortlisted = "shortlisted"
    decided = "decided"
    archived = "archived"


def round_phase(opens_at: datetime, closes_at: datetime, now: datetime) -> RoundPhase:
    """Open from `opens_at` (inclusive) until `closes_at` (exclusive)."""
    now = ensure_aware_utc(now)
    if now < ensure_aware_utc(opens_at):
        return RoundPhase.upcoming
    if now < ensure_aware_utc(closes_at):
        return RoundPhase.open
    return RoundPhase.closed


def is_open(opens_at: datetime, closes_at: datetime, now: datetime) -> bool:
    return round_phase(opens_at, closes_at, now) is RoundPhase.open


@dataclass(frozen=True)
class RoundView:
    """What a page needs to show about a round, computed once for a given `now`."""

    id: int
    seat_id: int
    timezone: str
    opens_at: datetime
    closes_at: datetime
    stage: RoundStage
    phase: RoundPhase
    opens_text: str
    closes_text: str
    remaining_text: str

    @classmethod
    def of(cls, row: dict[str, Any], now: datetime) -> RoundView:
        tz = row.get("timezone") or DEFAULT_ZONE
        return cls(
            id=row["id"],
            seat_id=row["seat"],
            timezone=tz,
            opens_at=row["opens_at"],
            closes_at=row["closes_at"],
            stage=RoundStage(row["stage"]),
            phase=round_phase(row["opens_at"], row["closes_at"], now),
            opens_text=format_instant(row["opens_at"], tz),
            closes_text=format_instant(row["closes_at"], tz),
            remaining_text=describe_remaining(row["closes_at"], now),
        )


async def get_round(round_id: int) -> dict[str, Any]:
    ensure_record_id(round_id, "There is no such round.")
    row = await Round.select().where(Round.id == round_id).first()
    if row is None:
        raise NotFound("There is no such round.")
    return row


def grace_deadline(closes_at: datetime, grace_minutes: int) -> datetime:
    return ensure_aware_utc(closes_at) + timedelta(minutes=grace_minutes)
