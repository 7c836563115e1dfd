"""A round's stages after closing (scoring -> shortlisted -> decided -> archived).

The stages are stored, and only `transition_round` changes them, along the moves in
`STAGE_MOVES`.
"""

from __future__ import annotations

from datetime import datetime

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict
from portal.domain.rounds.phase import RoundPhase, RoundStage, get_round, round_phase
from portal.domain.timerules import (
    ensure_aware_utc,
)
from portal.tables import Round

STAGE_MOVES: dict[RoundStage, frozenset[RoundStage]] = {
    RoundStage.collecting: frozenset({RoundStage.scoring, RoundStage.archived}),
    RoundStage.scoring: frozenset({RoundStage.shortlisted, RoundStage.archived}),
    RoundStage.shortlisted: frozenset({RoundStage.decided, RoundStage.archived}),
    RoundStage.decided: frozenset({RoundStage.archived}),
    RoundStage.archived: frozenset(),
}


class StageMoveRefused(Conflict):
    """The round cannot move to that stage from where it is now."""


async def transition_round(
    round_id: int, to: RoundStage, actor: Actor, now: datetime, *, reason: str = ""
) -> list[int]:
    """The only way a round's stage changes: check, stamp, save, audit, queue mail.

    Returns the ids of outbox messages written, for the caller to dispatch after commit.
    """
    row = await get_round(round_id)
    current = RoundStage(row["stage"])
    if to not in STAGE_MOVES[current]:
        raise StageMoveRefused(f"A round cannot move from {current.value} to {to.value}.")
    # Every stage, archiving included, comes after closing: an archived round whose
    # times still say "open" would keep taking applications on the public pages.
    phase = round_phase(row["opens_at"], row["closes_at"], now)
    if phase is RoundPhase.open:
        raise StageMoveRefused("The round is still taking applications: close it first.")
    if phase is RoundPhase.upcoming:
        raise StageMoveRefused("The round has not opened yet: it can move on only after it closes.")
    # Conditional on the stage we read, so two admins clicking at once move it once.
    updated = (
        await Round.update({Round.stage: to.value, Round.stage_changed_at: ensure_aware_utc(now)})
        .where((Round.id == round_id) & (Round.stage == current.value))
        .returning(Round.id)
    )
    if not updated:
        raise StageMoveRefused(
            "Someone else changed this round's stage just now; reload and try again."
        )
    if to is RoundStage.scoring:
        from portal.domain.rounds.panel_numbers import assign_panel_numbers

        await assign_panel_numbers(round_id)  # "Applicant 7" for the anonymised panel
    await record_event(
        actor,
        f"round.stage.{to.value}",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={"from": current.value, "to": to.value, **({"reason": reason} if reason else {})},
    )
    return []  # Stage mail (shortlist packs, outcomes) arrives with the panels issue.
