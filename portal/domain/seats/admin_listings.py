"""Read queries for the admin pages: every seat (published or not) with its rounds,
one seat with its parts, one round with its history and the moves open to it.

Each function reads in a fixed, small number of queries, so the caller can run it
inside one `read_transaction()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.rounds.times import STAGE_MOVES, RoundPhase, RoundStage, RoundView, get_round
from portal.domain.seats.editing import CRITERIA_LOCKED_REASON, get_seat
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Criterion, DeadlineExtension, Question, Round, Seat

# What each stage means, shown beside the button that moves a round there.
STAGE_EXPLANATIONS: dict[RoundStage, str] = {
    RoundStage.collecting: "Taking applications until the closing time.",
    RoundStage.scoring: "Applications are closed; the panel scores them against the published criteria.",
    RoundStage.shortlisted: "The panel has agreed the shortlist of candidates to interview or consider further.",
    RoundStage.decided: "The appointment has been decided and outcomes can be sent.",
    RoundStage.archived: "The round is finished and kept read-only for the record.",
}


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


@dataclass(frozen=True)
class StageMove:
    stage: RoundStage
    explanation: str


@dataclass(frozen=True)
class RoundDetail:
    round: dict[str, Any]
    view: RoundView
    seat: dict[str, Any]
    extensions: list[dict[str, Any]]
    next_stages: list[StageMove]

    @property
    def can_open_now(self) -> bool:
        return self.view.phase is RoundPhase.upcoming and self.view.stage is RoundStage.collecting

    @property
    def can_close_now(self) -> bool:
        return self.view.phase is RoundPhase.open and self.view.stage is RoundStage.collecting

    @property
    def can_extend(self) -> bool:
        return self.view.stage is RoundStage.collecting

    @property
    def can_move_stage(self) -> bool:
        return self.view.phase is RoundPhase.closed and bool(self.next_stages)


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


async def round_detail(round_id: int, now: datetime) -> RoundDetail:
    """One round with its seat, its deadline extensions (newest first) and its next stages."""
    row = await get_round(round_id)
    seat = (
        await Seat.select(Seat.id, Seat.title, Seat.slug, Seat.published)
        .where(Seat.id == row["seat"])
        .first()
    )
    extensions = (
        await DeadlineExtension.select(
            *DeadlineExtension.all_columns(),
            DeadlineExtension.granted_by.email.as_alias("granted_by_email"),
            DeadlineExtension.applicant.email.as_alias("applicant_email"),
        )
        .where(DeadlineExtension.round == round_id)
        .order_by(DeadlineExtension.created_at, ascending=False)
        .order_by(DeadlineExtension.id, ascending=False)
    )
    view = RoundView.of(row, now)
    moves = sorted(STAGE_MOVES[view.stage], key=list(RoundStage).index)
    return RoundDetail(
        round=row,
        view=view,
        seat=seat or {"id": row["seat"], "title": "(deleted seat)", "slug": "", "published": False},
        extensions=extensions,
        next_stages=[StageMove(stage, STAGE_EXPLANATIONS[stage]) for stage in moves],
    )
