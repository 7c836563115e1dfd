"""The member's writes to their own score sheet: validating, saving and submitting.

Each member writes only their own sheet (unique on member + application) and its
scores (unique on sheet + criterion), by upsert, so two members saving at once lose
nothing. A save writes only what the member changed on the page, and refuses a change
made on a stale page (another tab, an old copy) when the saved value has moved on
since the page was shown: `StaleScores` carries both values, so nothing is silently
overwritten. Nothing here knows about HTTP; `now` is a parameter and the caller owns the
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from piccolo.columns import Column
from piccolo.query.mixins import OnConflictAction

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, ValidationErrors
from portal.domain.panels.access import panel_round, visible_application
from portal.domain.scoring.queries import member_sheet, round_criteria, sheet_scores
from portal.domain.scoring.rules import SUBMITTED_MESSAGE, SheetSubmitted, ensure_scoring_open
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Score, ScoreSheet

MAX_COMMENT = 2000


class StaleScores(Conflict):
    """A change made on a page older than what is saved now.

    `clashes`: form field -> (what this page sent, what is saved now), as text.
    """

    def __init__(self, clashes: dict[str, tuple[str, str]]) -> None:
        super().__init__(
            "Your scores changed somewhere else (another tab or device) after this page was "
            "opened. Nothing was saved: compare the two versions below, then save again.",
            field="sheet",
        )
        self.clashes = clashes


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def changes_since(
    sent: Mapping[int, Any],
    seen: Mapping[int, Any] | None,
    saved: Mapping[int, Any],
    field: str,
) -> tuple[set[int], dict[str, tuple[str, str]]]:
    """Which of `sent` the member changed on the page (sent differs from what the page
    showed), and the clashes: a change where what is saved now differs from what the
    page showed. Without `seen` (no page to compare with) every sent value is a change
    and nothing clashes. Values compare as text, as a form shows them."""
    changed: set[int] = set()
    clashes: dict[str, tuple[str, str]] = {}
    for criterion_id, value in sent.items():
        if seen is None or criterion_id not in seen:
            changed.add(criterion_id)
            continue
        was = _shown(seen[criterion_id])
        if _shown(value) == was:
            continue
        changed.add(criterion_id)
        now_saved = _shown(saved.get(criterion_id))
        if now_saved != was and now_saved != _shown(value):
            clashes[f"{field}_{criterion_id}"] = (_shown(value), now_saved)
    return changed, clashes


def _parse_value(raw: Any, top: int) -> int | None:
    """None for "not scored"; raises ValueError for anything that is not 0..top."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        if len(raw.strip()) > 3:
            raise ValueError
        value = int(raw.strip())
    else:
        raise ValueError
    if not 0 <= value <= top:
        raise ValueError
    return value


def _clean_comment(raw: Any, label: str, name: str, errors: dict[str, str]) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        errors[name] = f"Your comment on “{label}” must be text."
        return ""
    if "\x00" in raw:
        errors[name] = (
            f"Your comment on “{label}” contains a character that cannot be saved "
            "(a NUL byte); remove it and try again."
        )
        return ""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_COMMENT:
        errors[name] = (
            f"Your comment on “{label}” has {len(text):,} characters; keep it to {MAX_COMMENT:,}."
        )
        return ""
    return text


def validate_scores(
    criteria: list[dict[str, Any]],
    top: int,
    values: Mapping[Any, Any],
    comments: Mapping[Any, Any],
) -> tuple[dict[int, int | None], dict[int, str]]:
    """Check every value and comment against the round's criteria and scale; all the
    problems at once, keyed by form field, as ValidationErrors."""
    by_id = {c["id"]: c for c in criteria}
    errors: dict[str, str] = {}
    if len(values) > len(by_id) or len(comments) > len(by_id):
        raise ValidationErrors(
            {"form": f"This seat has {len(by_id)} criteria; more scores than that were sent."}
        )
    unknown = [k for k in [*values, *comments] if k not in by_id]
    if unknown:
        raise ValidationErrors(
            {"form": "A score was sent for a criterion that is not one of this seat's criteria."}
        )
    clean_values: dict[int, int | None] = {}
    for criterion_id, raw in values.items():
        try:
            clean_values[criterion_id] = _parse_value(raw, top)
        except ValueError:
            title = by_id[criterion_id]["title"]
            errors[f"score_{criterion_id}"] = (
                f"Choose a score from 0 to {top} for “{title}”: a whole number on the scale."
            )
    clean_comments = {
        criterion_id: _clean_comment(
            raw, by_id[criterion_id]["title"], f"comment_{criterion_id}", errors
        )
        for criterion_id, raw in comments.items()
    }
    if errors:
        raise ValidationErrors(errors)
    return clean_values, clean_comments


def _changes(
    values: dict[int, int | None],
    comments: dict[int, str],
    seen_values: Mapping[int, Any] | None,
    seen_comments: Mapping[int, Any] | None,
    saved: Mapping[int, dict[str, Any]],
) -> tuple[dict[int, int | None], dict[int, str]]:
    """The values and comments the member changed; StaleScores on any clash."""
    changed_values, value_clashes = changes_since(
        values, seen_values, {c: s["value"] for c, s in saved.items()}, "score"
    )
    changed_comments, comment_clashes = changes_since(
        comments, seen_comments, {c: s["comment"] for c, s in saved.items()}, "comment"
    )
    if value_clashes or comment_clashes:
        raise StaleScores({**value_clashes, **comment_clashes})
    return (
        {c: v for c, v in values.items() if c in changed_values},
        {c: v for c, v in comments.items() if c in changed_comments},
    )


async def _open_sheet(member_id: int, application_id: int, now: datetime) -> int:
    """The member's sheet for the application, made if needed and touched under a row
    lock; SheetSubmitted when it is submitted (also when a submit raced this save)."""
    await ScoreSheet.insert(
        ScoreSheet(member=member_id, application=application_id, updated_at=now)
    ).on_conflict(
        target=(ScoreSheet.member, ScoreSheet.application),
        action=OnConflictAction.do_nothing,
    )
    touched = (
        await ScoreSheet.update({ScoreSheet.updated_at: now})
        .where(
            (ScoreSheet.member == member_id)
            & (ScoreSheet.application == application_id)
            & ScoreSheet.submitted_at.is_null()
        )
        .returning(ScoreSheet.id)
    )
    if not touched:
        raise SheetSubmitted(SUBMITTED_MESSAGE)
    return touched[0]["id"]


async def save_scores(
    member: Mapping[str, Any],
    application_id: int,
    values: Mapping[Any, Any],
    comments: Mapping[Any, Any],
    now: datetime,
    *,
    seen_values: Mapping[int, Any] | None = None,
    seen_comments: Mapping[int, Any] | None = None,
) -> int | None:
    """Save the member's scores (criterion id -> 0..scale_max or None for "not scored")
    and comments (criterion id -> text) on their own sheet; returns the sheet id
    (None when nothing was sent and there is no sheet yet).

    Only what changed is written: a criterion left out, or sent as the page showed it
    (`seen_values`, `seen_comments`), keeps what is saved. StaleScores when a change
    was made on a page older than what is saved now; nothing is written then.
    """
    now = ensure_aware_utc(now)
    await visible_application(dict(member), application_id)
    round_row = await panel_round(member["round"])
    ensure_scoring_open(round_row, now)
    existing = await member_sheet(member["id"], application_id)
    if existing is not None and existing["submitted_at"] is not None:
        raise SheetSubmitted(SUBMITTED_MESSAGE)
    criteria = await round_criteria(round_row)
    clean_values, clean_comments = validate_scores(
        criteria, int(round_row["scale_max"]), values, comments
    )
    saved = await sheet_scores(existing["id"]) if existing else {}
    clean_values, clean_comments = _changes(
        clean_values, clean_comments, seen_values, seen_comments, saved
    )
    if not clean_values and not clean_comments:
        return existing["id"] if existing else None  # nothing to write: no empty sheet
    sheet_id = await _open_sheet(member["id"], application_id, now)
    # Read again under the sheet's row lock (taken by _open_sheet): a save from another
    # tab that committed meanwhile is seen, and clashes with this one.
    _changes(clean_values, clean_comments, seen_values, seen_comments, await sheet_scores(sheet_id))
    for criterion_id in dict.fromkeys([*clean_values, *clean_comments]):
        columns: list[Column] = []
        if criterion_id in clean_values:
            columns.append(Score.value)
        if criterion_id in clean_comments:
            columns.append(Score.comment)
        await Score.insert(
            Score(
                sheet=sheet_id,
                criterion=criterion_id,
                value=clean_values.get(criterion_id),
                comment=clean_comments.get(criterion_id, ""),
                updated_at=now,
            )
        ).on_conflict(
            target=(Score.sheet, Score.criterion),
            action=OnConflictAction.do_update,
            values=[*columns, Score.updated_at],
        )
    return sheet_id


async def _ensure_complete(round_row: Mapping[str, Any], sheet: Mapping[str, Any] | None) -> None:
    criteria = await round_criteria(round_row)
    scores = await sheet_scores(sheet["id"]) if sheet else {}
    missing = {
        f"score_{c['id']}": f"Score “{c['title']}” before you submit your score sheet."
        for c in criteria
        if scores.get(c["id"], {}).get("value") is None
    }
    if missing or sheet is None:
        raise ValidationErrors(missing or {"form": "Score every criterion before you submit."})


async def ensure_ready_to_submit(member: Mapping[str, Any], application_id: int) -> None:
    """ValidationErrors naming each criterion still unscored on the member's sheet: asked
    before the "are you sure" step, so nobody confirms a sheet that cannot be submitted."""
    await visible_application(dict(member), application_id)
    round_row = await panel_round(member["round"])
    await _ensure_complete(round_row, await member_sheet(member["id"], application_id))


async def submit_sheet(
    member: Mapping[str, Any], application_id: int, actor: Actor, now: datetime
) -> bool:
    """Submit the member's sheet: every criterion must be scored. Submitting a sheet
    already submitted changes nothing (a double click); returns whether this call did it."""
    now = ensure_aware_utc(now)
    await visible_application(dict(member), application_id)
    round_row = await panel_round(member["round"])
    ensure_scoring_open(round_row, now)
    sheet = await member_sheet(member["id"], application_id)
    if sheet is not None and sheet["submitted_at"] is not None:
        return False
    await _ensure_complete(round_row, sheet)
    done = (
        await ScoreSheet.update({ScoreSheet.submitted_at: now, ScoreSheet.updated_at: now})
        .where((ScoreSheet.id == sheet["id"]) & ScoreSheet.submitted_at.is_null())
        .returning(ScoreSheet.id)
    )
    if not done:
        return False
    await record_event(
        actor,
        "scoring.sheet_submitted",
        "score_sheet",
        sheet["id"],
        now,
        round_id=member["round"],
        detail={"application_id": application_id, "member_id": member["id"]},
    )
    return True
