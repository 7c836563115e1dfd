"""Reads of seats: one seat with its parts, and the published seats and rounds the
public JSON API serves. Unpublished seats, and their rounds, are NotFound here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.errors import NotFound, ensure_record_id
from portal.domain.rounds.phase import RoundView
from portal.domain.seats.editing import SLUG_MAX, get_seat
from portal.domain.seats.parts import CRITERIA_LOCKED_REASON
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Criterion, Question, Round, Seat


async def seat_with_parts(seat_id: int) -> dict[str, Any]:
    """The seat with its criteria, questions and rounds, ordered for display."""
    seat = await get_seat(seat_id)
    seat["criteria"] = (
        await Criterion.select().where(Criterion.seat == seat_id).order_by(Criterion.position)
    )
    seat["questions"] = (
        await Question.select().where(Question.seat == seat_id).order_by(Question.position)
    )
    seat["rounds"] = await Round.select().where(Round.seat == seat_id).order_by(Round.opens_at)
    return seat


async def published_seats_with_rounds() -> list[dict[str, Any]]:
    """Every published seat (title order), each with all its rounds under "rounds"; two queries."""
    seats = (
        await Seat.select().where(Seat.published.eq(True)).order_by(Seat.title).order_by(Seat.id)
    )
    rounds = (
        await Round.select().where(Round.seat.published.eq(True)).order_by(Round.opens_at)
        if seats
        else []
    )
    by_seat: dict[int, list[dict[str, Any]]] = {seat["id"]: [] for seat in seats}
    for row in rounds:
        by_seat.setdefault(row["seat"], []).append(row)
    for seat in seats:
        seat["rounds"] = by_seat[seat["id"]]
    return seats


async def published_seat_with_parts(slug: str) -> dict[str, Any]:
    """A published seat by its slug, with criteria, questions and rounds."""
    message = "There is no published seat at this address."
    seat = (
        await Seat.select(Seat.id)
        .where((Seat.slug == slug[:SLUG_MAX]) & Seat.published.eq(True))
        .first()
    )
    if seat is None:
        raise NotFound(message)
    return await seat_with_parts(seat["id"])


async def published_round(round_id: int) -> dict[str, Any]:
    """A round of a published seat, with the seat's slug and title ("seat_slug", "seat_title")."""
    message = "There is no published round with this number."
    ensure_record_id(round_id, message)
    row = (
        await Round.select(
            *Round.all_columns(),
            Round.seat.slug.as_alias("seat_slug"),
            Round.seat.title.as_alias("seat_title"),
        )
        .where((Round.id == round_id) & Round.seat.published.eq(True))
        .first()
    )
    if row is None:
        raise NotFound(message)
    return row


# Reads for the admin pages: every seat (published or not) with its rounds, one seat with its parts.


@dataclass(frozen=True)
class SeatOverview:
    seat: dict[str, Any]
    rounds: list[RoundView]


@dataclass(frozen=True)
class SeatDetail:
    seat: dict[str, Any]
    criteria: list[dict[str, Any]]
    questions: list[dict[str, Any]]
    rounds: list[RoundView]
    lock_reason: str | None  # why criteria and questions cannot change, if they cannot


async def seat_overview(now: datetime) -> list[SeatOverview]:
    """Every seat, published or not, each with its rounds (newest first); two queries."""
    now = ensure_aware_utc(now)
    seats = await Seat.select(
        Seat.id, Seat.title, Seat.slug, Seat.published, Seat.updated_at
    ).order_by(Seat.title)
    rows = await Round.select().order_by(Round.opens_at, ascending=False)
    by_seat: dict[int, list[RoundView]] = {}
    for row in rows:
        by_seat.setdefault(row["seat"], []).append(RoundView.of(row, now))
    return [SeatOverview(seat=seat, rounds=by_seat.get(seat["id"], [])) for seat in seats]


async def seat_detail(seat_id: int, now: datetime) -> SeatDetail:
    """One seat with its criteria, questions and rounds, and whether its criteria are locked."""
    now = ensure_aware_utc(now)
    seat = await get_seat(seat_id)
    criteria = (
        await Criterion.select()
        .where(Criterion.seat == seat_id)
        .order_by(Criterion.position)
        .order_by(Criterion.id)
    )
    questions = (
        await Question.select()
        .where(Question.seat == seat_id)
        .order_by(Question.position)
        .order_by(Question.id)
    )
    rounds = [
        RoundView.of(row, now)
        for row in await Round.select().where(Round.seat == seat_id).order_by(Round.opens_at)
    ]
    # Same rule as `criteria_locked`, read from the rounds already loaded.
    locked = any(r.opens_at <= now for r in rounds)
    return SeatDetail(
        seat=seat,
        criteria=criteria,
        questions=questions,
        rounds=rounds,
        lock_reason=CRITERIA_LOCKED_REASON if locked else None,
    )
