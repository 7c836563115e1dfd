"""Reads for the admin round page: one round with its seat, its extensions and the
stage moves open to it, in a fixed, small number of queries (run it inside one
`read_transaction()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.rounds.phase import RoundPhase, RoundStage, RoundView, get_round
from portal.domain.rounds.stages import STAGE_MOVES, Cutoff, applicant_cutoff
from portal.tables import DeadlineExtension, Seat

# What each stage means, shown beside the button that moves a round there.
STAGE_EXPLANATIONS: dict[RoundStage, str] = {
    RoundStage.collecting: "Taking applications until the closing time.",
    RoundStage.scoring: "Applications are closed; the panel scores them against the published criteria.",
    RoundStage.shortlisted: "The panel has agreed the shortlist of candidates to interview or consider further.",
    RoundStage.decided: "The appointment has been decided and outcomes can be sent.",
    RoundStage.archived: "The round is finished and kept read-only for the record.",
}


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
    # Closed but applicants may still write (grace, personal extensions): leaving
    # collecting now needs the admin's confirmation.
    cutoff: Cutoff | None = None

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
    cutoff = None
    if view.stage is RoundStage.collecting and view.phase is RoundPhase.closed:
        cutoff = await applicant_cutoff(row, now)
    return RoundDetail(
        round=row,
        view=view,
        seat=seat or {"id": row["seat"], "title": "(deleted seat)", "slug": "", "published": False},
        extensions=extensions,
        next_stages=[StageMove(stage, STAGE_EXPLANATIONS[stage]) for stage in moves],
        cutoff=cutoff,
    )
