"""Read queries for the public pages: published seats, grouped by what their rounds are doing.

Each function reads everything a page needs in a fixed, small number of queries
(no query per seat), so the caller can run it inside one `read_transaction()`.
Unpublished seats, and their rounds, never leave this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.domain.errors import NotFound
from portal.domain.rounds.phase import RoundPhase, RoundView
from portal.domain.seats.editing import SLUG_MAX
from portal.domain.seats.queries import published_round
from portal.domain.timerules import describe_until, ensure_aware_utc
from portal.tables import AuditEvent, Criterion, Question, Round, Seat

RECENTLY_CLOSED = timedelta(days=60)
# What `seats.slugify` can produce; anything else (a NUL byte that PostgreSQL refuses,
# a 5,000-character path) cannot be a seat, so it is not worth a query.
_SLUG = re.compile(rf"[a-z0-9][a-z0-9-]{{0,{SLUG_MAX - 1}}}")
# Changes that move a round's closing time; a calendar's SEQUENCE counts them so
# calendar apps replace the event they imported earlier.
CLOSING_TIME_CHANGES = ("round.extended", "round.closed_now")

_LISTED_SEAT_COLUMNS = {
    "slug": Round.seat.slug,
    "title": Round.seat.title,
    "summary": Round.seat.summary,
    "updated_at": Round.seat.updated_at,
}


@dataclass(frozen=True)
class ListedSeat:
    """A seat on the list or in the feed, with the one round a visitor cares about."""

    id: int
    slug: str
    title: str
    summary: str
    updated_at: datetime
    round: RoundView
    opens_in: str  # "in 3 days": only meaningful while the round is upcoming


@dataclass(frozen=True)
class SeatListing:
    open: list[ListedSeat]
    upcoming: list[ListedSeat]
    recently_closed: list[ListedSeat]

    @property
    def is_empty(self) -> bool:
        return not (self.open or self.upcoming or self.recently_closed)


@dataclass(frozen=True)
class CriterionView:
    title: str
    guidance: str
    weight: int
    share: int  # per cent of the total weight, for "counts for about 40%"


@dataclass(frozen=True)
class SeatPage:
    seat: dict[str, Any]
    criteria: list[CriterionView]
    questions: list[dict[str, Any]]
    round: RoundView | None
    opens_in: str

    @property
    def criteria_weighted_equally(self) -> bool:
        return len({c.weight for c in self.criteria}) <= 1


@dataclass(frozen=True)
class RoundCalendar:
    round: RoundView
    seat_slug: str
    seat_title: str
    sequence: int


def pick_round(rounds: list[RoundView]) -> RoundView | None:
    """The round a visitor cares about: the open one closing soonest, else the next to
    open, else the one that closed last."""
    open_ = [r for r in rounds if r.phase is RoundPhase.open]
    if open_:
        return min(open_, key=lambda r: r.closes_at)
    upcoming = [r for r in rounds if r.phase is RoundPhase.upcoming]
    if upcoming:
        return min(upcoming, key=lambda r: r.opens_at)
    return max(rounds, key=lambda r: r.closes_at, default=None)


async def public_seat_list(now: datetime) -> SeatListing:
    """Published seats in three groups; one query (rounds joined to their seats)."""
    now = ensure_aware_utc(now)
    rows = await Round.select(
        *Round.all_columns(),
        *(column.as_alias(f"seat_{name}") for name, column in _LISTED_SEAT_COLUMNS.items()),
    ).where(Round.seat.published.eq(True) & (Round.closes_at >= now - RECENTLY_CLOSED))
    by_seat: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_seat.setdefault(row["seat"], []).append(row)
    groups: dict[RoundPhase, list[ListedSeat]] = {phase: [] for phase in RoundPhase}
    for seat_id, seat_rows in by_seat.items():
        chosen = pick_round([RoundView.of(row, now) for row in seat_rows])
        if chosen is None:
            continue
        first = seat_rows[0]
        groups[chosen.phase].append(
            ListedSeat(
                id=seat_id,
                slug=first["seat_slug"],
                title=first["seat_title"],
                summary=first["seat_summary"],
                updated_at=first["seat_updated_at"],
                round=chosen,
                opens_in=describe_until(chosen.opens_at, now),
            )
        )
    return SeatListing(
        open=sorted(groups[RoundPhase.open], key=lambda s: (s.round.closes_at, s.title)),
        upcoming=sorted(groups[RoundPhase.upcoming], key=lambda s: (s.round.opens_at, s.title)),
        recently_closed=sorted(
            groups[RoundPhase.closed], key=lambda s: (-s.round.closes_at.timestamp(), s.title)
        ),
    )


def criterion_shares(criteria: list[dict[str, Any]]) -> list[CriterionView]:
    total = sum(max(c["weight"], 0) for c in criteria) or 1
    return [
        CriterionView(
            title=c["title"],
            guidance=c["guidance"],
            weight=c["weight"],
            share=round(100 * c["weight"] / total),
        )
        for c in criteria
    ]


async def public_seat_page(slug: str, now: datetime) -> SeatPage:
    """A published seat with its criteria, questions and current round; four queries."""
    now = ensure_aware_utc(now)
    if not _SLUG.fullmatch(slug):
        raise NotFound("There is no published seat at this address.")
    seat = await Seat.select().where((Seat.slug == slug) & Seat.published.eq(True)).first()
    if seat is None:
        raise NotFound("There is no published seat at this address.")
    criteria = (
        await Criterion.select()
        .where(Criterion.seat == seat["id"])
        .order_by(Criterion.position)
        .order_by(Criterion.id)
    )
    questions = (
        await Question.select()
        .where(Question.seat == seat["id"])
        .order_by(Question.position)
        .order_by(Question.id)
    )
    rounds = await Round.select().where(Round.seat == seat["id"])
    chosen = pick_round([RoundView.of(row, now) for row in rounds])
    return SeatPage(
        seat=seat,
        criteria=criterion_shares(criteria),
        questions=questions,
        round=chosen,
        opens_in=describe_until(chosen.opens_at, now) if chosen else "",
    )


async def public_round_calendar(round_id: int, now: datetime) -> RoundCalendar:
    """A round of a published seat, for its closing-time calendar file; two queries."""
    row = await published_round(round_id)
    changes = await AuditEvent.count().where(
        (AuditEvent.round == round_id) & AuditEvent.action.is_in(list(CLOSING_TIME_CHANGES))
    )
    return RoundCalendar(
        round=RoundView.of(row, now),
        seat_slug=row["seat_slug"],
        seat_title=row["seat_title"],
        sequence=changes,
    )
