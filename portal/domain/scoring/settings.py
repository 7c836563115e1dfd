"""A round's scoring settings, as admins set them: the scoring deadline and the minimum of
completed score sheets each application needs (`portal.domain.scoring.coverage`).

The deadline is entered on the round's wall clock, like its closing time, and must be
after the round closes and in the future; members are reminded before it (the
reminder schedule's panel hours) and the chair sees who is late after it. Audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, ValidationErrors
from portal.domain.rounds.phase import RoundStage, get_round
from portal.domain.timerules import (
    DEFAULT_ZONE,
    ensure_aware_utc,
    read_local,
    to_local_inputs,
)
from portal.tables import Round

MAX_MIN_SHEETS = 50


@dataclass
class ScoringSettingsInput:
    """The admin's scoring form as sent; everything is text until checked here."""

    deadline_date: str = ""
    deadline_time: str = ""
    min_score_sheets: str = ""

    @classmethod
    def of(cls, round_row: dict[str, Any]) -> ScoringSettingsInput:
        """The form as the round stands now."""
        day = clock = ""
        if round_row.get("scoring_deadline"):
            day, clock = to_local_inputs(
                round_row["scoring_deadline"], round_row["timezone"] or DEFAULT_ZONE
            )
        minimum = round_row.get("min_score_sheets")
        return cls(day, clock, "" if minimum is None else str(minimum))


def _deadline(
    data: ScoringSettingsInput, round_row: dict[str, Any], now: datetime, errors: dict[str, str]
) -> datetime | None:
    if not data.deadline_date.strip() and not data.deadline_time.strip():
        return None  # no deadline: scoring stays open until the chair or an admin closes it
    zone_name = round_row["timezone"] or DEFAULT_ZONE
    deadline = read_local(
        data.deadline_date,
        data.deadline_time,
        zone_name,
        errors,
        label="Scoring deadline",
        key="deadline",
    )
    if deadline is None:
        return None
    if deadline <= ensure_aware_utc(round_row["closes_at"]):
        errors["deadline_date"] = "The scoring deadline must be after the round closes."
    elif deadline <= ensure_aware_utc(now):
        errors["deadline_date"] = "The scoring deadline must be in the future."
    return deadline


def _minimum(text: str, errors: dict[str, str]) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 3 or not 1 <= int(text) <= MAX_MIN_SHEETS:
        errors["min_score_sheets"] = (
            f"Enter the minimum as a whole number from 1 to {MAX_MIN_SHEETS}, or leave it "
            "empty for every member without a conflict."
        )
        return None
    return int(text)


async def update_scoring_settings(
    round_id: int, data: ScoringSettingsInput, actor: Actor, now: datetime
) -> None:
    row = await get_round(round_id)
    if RoundStage(row["stage"]) not in (RoundStage.collecting, RoundStage.scoring):
        raise Conflict("Scoring is over for this round: its settings can no longer change.")
    errors: dict[str, str] = {}
    deadline = _deadline(data, row, now, errors)
    minimum = _minimum(data.min_score_sheets, errors)
    if errors:
        raise ValidationErrors(errors=errors)
    await Round.update({Round.scoring_deadline: deadline, Round.min_score_sheets: minimum}).where(
        Round.id == round_id
    )
    await record_event(
        actor,
        "round.scoring_settings",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={
            "scoring_deadline": deadline.isoformat() if deadline else None,
            "previous_deadline": (
                row["scoring_deadline"].isoformat() if row["scoring_deadline"] else None
            ),
            "min_score_sheets": minimum,
        },
    )
