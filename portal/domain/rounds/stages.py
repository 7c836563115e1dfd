"""A round's stages after closing (scoring -> shortlisted -> decided -> archived).

The stages are stored, and only `transition_round` changes them, along the moves in
`STAGE_MOVES`. Leaving the collecting stage ends every applicant write at once, grace
or not (`portal.domain.rounds.deadline`): while some applicant could still write (the
grace after the closing time, or a personal extension), the move waits for the admin
to confirm that those writes will be refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict
from portal.domain.rounds.deadline import grace_end
from portal.domain.rounds.phase import RoundPhase, RoundStage, get_round, round_phase
from portal.domain.statuses import ApplicationStatus
from portal.domain.timerules import (
    DEFAULT_ZONE,
    ensure_aware_utc,
    format_instant,
)
from portal.tables import Application, DeadlineExtension, Round

STAGE_MOVES: dict[RoundStage, frozenset[RoundStage]] = {
    RoundStage.collecting: frozenset({RoundStage.scoring, RoundStage.archived}),
    RoundStage.scoring: frozenset({RoundStage.shortlisted, RoundStage.archived}),
    RoundStage.shortlisted: frozenset({RoundStage.decided, RoundStage.archived}),
    RoundStage.decided: frozenset({RoundStage.archived}),
    RoundStage.archived: frozenset(),
}


class StageMoveRefused(Conflict):
    """The round cannot move to that stage from where it is now."""


@dataclass(frozen=True)
class Cutoff:
    """Applicant writes a move out of collecting would cut off: until when they are still
    accepted, how many applications are still drafts, how many personal extensions run."""

    until: datetime
    drafts: int
    extensions: int


class CutoffNotConfirmed(Conflict):
    """Leaving collecting while applicants may still write: the admin must confirm first."""

    def __init__(self, cutoff: Cutoff, zone_name: str, to: RoundStage) -> None:
        when = format_instant(cutoff.until, zone_name)
        parts = []
        if cutoff.drafts:
            parts.append(
                f"{cutoff.drafts} application{'s are' if cutoff.drafts != 1 else ' is'} still a draft"
            )
        if cutoff.extensions:
            parts.append(
                f"{cutoff.extensions} applicant{'s have' if cutoff.extensions != 1 else ' has'} "
                "a personal extension still running"
            )
        detail = f" ({'; '.join(parts)})" if parts else ""
        super().__init__(
            f"Applications can still arrive until {when}: those in flight at the closing time "
            f"(the grace period) and any personal extension{detail}. If the round moves to "
            f"{to.value} now, every one of them will be refused. Confirm to move it anyway, "
            "or wait until then."
        )
        self.cutoff = cutoff
        self.to = to


async def applicant_cutoff(row: dict[str, Any], now: datetime) -> Cutoff | None:
    """What leaving collecting at `now` would refuse, or None if no applicant can write now."""
    extensions = await DeadlineExtension.select(DeadlineExtension.closes_at).where(
        (DeadlineExtension.round == row["id"]) & DeadlineExtension.applicant.is_not_null()
    )
    now = ensure_aware_utc(now)
    running = [e for e in extensions if grace_end(e["closes_at"], row["grace_minutes"]) > now]
    latest = max(
        [ensure_aware_utc(row["closes_at"]), *(ensure_aware_utc(e["closes_at"]) for e in running)]
    )
    until = grace_end(latest, row["grace_minutes"])
    if until <= now:
        return None
    drafts = await Application.count().where(
        (Application.round == row["id"]) & (Application.status == ApplicationStatus.draft.value)
    )
    return Cutoff(until=until, drafts=drafts, extensions=len(running))


async def transition_round(
    round_id: int,
    to: RoundStage,
    actor: Actor,
    now: datetime,
    *,
    reason: str = "",
    confirm_cutoff: bool = False,
) -> list[int]:
    """The only way a round's stage changes: check, stamp, save, audit, queue mail.

    Leaving collecting while applicants may still write raises CutoffNotConfirmed unless
    `confirm_cutoff` (the admin ticked the box saying those writes will be refused).
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
    cutoff = await applicant_cutoff(row, now) if current is RoundStage.collecting else None
    if cutoff is not None and not confirm_cutoff:
        raise CutoffNotConfirmed(cutoff, row["timezone"] or DEFAULT_ZONE, to)
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
        detail={
            "from": current.value,
            "to": to.value,
            **({"reason": reason} if reason else {}),
            # Confirmed while applicants could still write: who was cut off, and until when.
            **(
                {
                    "cut_off_until": cutoff.until.isoformat(),
                    "drafts": cutoff.drafts,
                    "extensions_running": cutoff.extensions,
                }
                if cutoff is not None
                else {}
            ),
        },
    )
    return []  # Stage mail (shortlist packs, outcomes) arrives with the panels issue.
