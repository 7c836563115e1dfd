"""The scoring rules: the round's scale, when scoring is open, and a sheet's status.

Pure functions of a round row and `now` (no queries), so the pages, the writes and
the chair's controls all judge the window and the scale the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.errors import Conflict
from portal.domain.timerules import DEFAULT_ZONE, ensure_aware_utc, format_instant

DEFAULT_LABELS = (
    "No evidence",
    "Limited evidence",
    "Some evidence",
    "Good evidence",
    "Strong evidence",
)


class SheetStatus(enum.StrEnum):
    not_started = "not started"
    in_progress = "in progress"
    submitted = "submitted"


class ScoringClosed(Conflict):
    """Scoring is not open for this round (not started, past its deadline, or moved on)."""


class SheetSubmitted(Conflict):
    """The member submitted this sheet; only the chair can reopen it."""


SUBMITTED_MESSAGE = (
    "You have submitted your score sheet for this application, so it cannot be changed; "
    "ask the chair to reopen it if you need to."
)


@dataclass(frozen=True)
class ScalePoint:
    value: int
    label: str  # "" when the round's scale has no description for this point


def scale_points(round_row: Mapping[str, Any]) -> list[ScalePoint]:
    """0..scale_max, each with the round's description (one per line), the default
    descriptions for the default 0-4 scale, or none."""
    top = int(round_row.get("scale_max") or 4)
    given = [line.strip() for line in (round_row.get("scale_labels") or "").splitlines()]
    given = [line for line in given if line]
    if not given and top == len(DEFAULT_LABELS) - 1:
        given = list(DEFAULT_LABELS)
    return [ScalePoint(v, given[v] if v < len(given) else "") for v in range(top + 1)]


@dataclass(frozen=True)
class ScoringWindow:
    is_open: bool
    message: str  # why scores cannot be changed, stating when scoring closed
    closes_at: datetime | None  # the scoring deadline, when one is set


def scoring_window(round_row: Mapping[str, Any], now: datetime) -> ScoringWindow:
    now = ensure_aware_utc(now)
    zone_name = round_row.get("timezone") or DEFAULT_ZONE
    deadline = round_row.get("scoring_deadline")
    stage = round_row["stage"]
    if stage == "collecting":
        return ScoringWindow(False, "Scoring has not started for this round yet.", deadline)
    if stage != "scoring":
        moved = round_row.get("stage_changed_at")
        closed_at = deadline if deadline and (not moved or deadline < moved) else moved
        when = f" at {format_instant(closed_at, zone_name)}" if closed_at else ""
        return ScoringWindow(
            False,
            f"Scoring closed{when}, when the round moved on to {stage}. "
            "Scores can no longer be changed.",
            deadline,
        )
    if deadline is not None and now >= ensure_aware_utc(deadline):
        return ScoringWindow(
            False,
            f"Scoring closed at {format_instant(deadline, zone_name)}. "
            "Scores can no longer be saved or submitted.",
            deadline,
        )
    return ScoringWindow(True, "", deadline)


def ensure_scoring_open(round_row: Mapping[str, Any], now: datetime) -> None:
    window = scoring_window(round_row, now)
    if not window.is_open:
        raise ScoringClosed(window.message)


def sheet_status(sheet: Mapping[str, Any] | None, scored: int) -> SheetStatus:
    if sheet is None:
        return SheetStatus.not_started
    if sheet["submitted_at"] is not None:
        return SheetStatus.submitted
    return SheetStatus.in_progress if scored else SheetStatus.not_started
