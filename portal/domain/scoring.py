"""Scoring: panel members score applications against the criteria, on their own sheets.

Each member writes only their own sheet (unique on member + application) and its
scores (unique on sheet + criterion), by upsert, so two members saving at once
lose nothing. Scoring is open while the round's stage is "scoring" and before its
scoring deadline (if one is set); the chair can close it now and reopen a member's
submitted sheet. Every read of an application goes through
`portal.domain.panel_access`, so whatever a member may not see is NotFound.

Nothing here knows about HTTP; `now` is a parameter and the caller owns the
transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from piccolo.columns import Column
from piccolo.query.mixins import OnConflictAction

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, NotFound, ensure_record_id
from portal.domain.panel_access import (
    NOT_FOUND,
    PANEL_STATUSES,
    PanelRole,
    conflicted_application_ids,
    identities_visible,
    is_ready,
    panel_label,
    panel_round,
    visible_application,
)
from portal.domain.seats import ValidationErrors
from portal.domain.timerules import DEFAULT_ZONE, ensure_aware_utc, format_instant
from portal.tables import (
    Answer,
    Application,
    Criterion,
    Document,
    PanelMember,
    Question,
    Round,
    Score,
    ScoreSheet,
    Seat,
    Statement,
    User,
)

MAX_COMMENT = 2000
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


# ---- The scale and the scoring window -------------------------------------------


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


# ---- Reading ----------------------------------------------------------------------


async def round_with_seat(round_id: int) -> dict[str, Any]:
    row = await panel_round(round_id)
    seat = await Seat.select(Seat.title).where(Seat.id == row["seat"]).first()
    return {**row, "seat_title": seat["title"] if seat else ""}


async def round_criteria(round_row: Mapping[str, Any]) -> list[dict[str, Any]]:
    return (
        await Criterion.select(Criterion.id, Criterion.title, Criterion.guidance, Criterion.weight)
        .where(Criterion.seat == round_row["seat"])
        .order_by(Criterion.position)
        .order_by(Criterion.id)
    )


async def _sheet(member_id: int, application_id: int) -> dict[str, Any] | None:
    return (
        await ScoreSheet.select()
        .where((ScoreSheet.member == member_id) & (ScoreSheet.application == application_id))
        .first()
    )


async def _scores(sheet_id: int) -> dict[int, dict[str, Any]]:
    rows = await Score.select(Score.criterion, Score.value, Score.comment).where(
        Score.sheet == sheet_id
    )
    return {row["criterion"]: row for row in rows}


async def visible_applications(member: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The applications this member may see, in panel-number order."""
    if not is_ready(dict(member)):
        return []
    rows = (
        await Application.select(Application.id, Application.status, Application.panel_number)
        .where(
            (Application.round == member["round"]) & Application.status.is_in(list(PANEL_STATUSES))
        )
        .order_by(Application.panel_number)
        .order_by(Application.id)
    )
    hidden = await conflicted_application_ids(dict(member))
    return [row for row in rows if row["id"] not in hidden]


def sheet_status(sheet: Mapping[str, Any] | None, scored: int) -> SheetStatus:
    if sheet is None:
        return SheetStatus.not_started
    if sheet["submitted_at"] is not None:
        return SheetStatus.submitted
    return SheetStatus.in_progress if scored else SheetStatus.not_started


@dataclass
class QueueItem:
    application_id: int
    label: str
    status: SheetStatus
    scored: int  # criteria with a score on the member's sheet
    complete: bool  # every criterion scored


@dataclass
class Queue:
    round: dict[str, Any]
    items: list[QueueItem]
    criteria_count: int
    window: ScoringWindow

    @property
    def scored(self) -> int:
        return sum(1 for item in self.items if item.complete)

    @property
    def submitted(self) -> int:
        return sum(1 for item in self.items if item.status is SheetStatus.submitted)

    def next_unfinished(self, after: int | None = None) -> int | None:
        """The next application (after `after`, wrapping round) that is neither
        submitted nor fully scored."""
        ids = [i.application_id for i in self.items]
        start = ids.index(after) + 1 if after in ids else 0
        for item in self.items[start:] + self.items[:start]:
            if item.application_id != after and not (
                item.complete or item.status is SheetStatus.submitted
            ):
                return item.application_id
        return None


async def _names(application_ids: list[int]) -> dict[int, str]:
    """Applicants' names, for a round whose identities the panel may see (nothing else)."""
    if not application_ids:
        return {}
    rows = await Application.select(
        Application.id, Application.applicant.name.as_alias("name")
    ).where(Application.id.is_in(application_ids))
    return {row["id"]: row["name"] for row in rows}


async def member_queue(member: Mapping[str, Any], now: datetime) -> Queue:
    """The member's applications with their sheet status, labelled as the round allows."""
    round_row = await round_with_seat(member["round"])
    criteria = await round_criteria(round_row)
    applications = [] if round_row["stage"] == "collecting" else await visible_applications(member)
    ids = [row["id"] for row in applications]
    sheets = {}
    counts: dict[int, int] = {}
    if ids:
        sheets = {
            row["application"]: row
            for row in await ScoreSheet.select().where(
                (ScoreSheet.member == member["id"]) & ScoreSheet.application.is_in(ids)
            )
        }
        if sheets:
            sheet_app = {row["id"]: app_id for app_id, row in sheets.items()}
            for score in await Score.select(Score.sheet, Score.value).where(
                Score.sheet.is_in(list(sheet_app)) & Score.value.is_not_null()
            ):
                app_id = sheet_app[score["sheet"]]
                counts[app_id] = counts.get(app_id, 0) + 1
    names = await _names(ids) if identities_visible(round_row) else {}
    items = []
    for row in applications:
        scored = counts.get(row["id"], 0)
        items.append(
            QueueItem(
                application_id=row["id"],
                label=names.get(row["id"]) or panel_label(row),
                status=sheet_status(sheets.get(row["id"]), scored),
                scored=scored,
                complete=bool(criteria) and scored >= len(criteria),
            )
        )
    return Queue(round_row, items, len(criteria), scoring_window(round_row, now))


@dataclass
class Identity:
    """Who applied, for a round whose identities the panel may see. Never contact
    details or adjustments: those are not even read."""

    name: str
    organisation: str
    job_title: str
    reference: str
    documents: list[dict[str, Any]]


@dataclass
class PanelApplication:
    round: dict[str, Any]
    application: dict[str, Any]
    label: str
    identity: Identity | None
    questions: list[dict[str, Any]]  # prompt, answer
    criteria: list[dict[str, Any]]  # id, title, guidance, weight, statement
    scale: list[ScalePoint]
    window: ScoringWindow
    sheet: dict[str, Any] | None
    scores: dict[int, dict[str, Any]] = field(default_factory=dict)
    others: list[dict[str, Any]] | None = None  # None until the member's own sheet is submitted

    @property
    def submitted(self) -> bool:
        return bool(self.sheet and self.sheet["submitted_at"] is not None)

    @property
    def editable(self) -> bool:
        return self.window.is_open and not self.submitted


async def _identity(application_id: int) -> Identity:
    row = (
        await Application.select(
            Application.reference,
            Application.applicant.name.as_alias("name"),
            Application.applicant.organisation.as_alias("organisation"),
            Application.applicant.job_title.as_alias("job_title"),
        )
        .where(Application.id == application_id)
        .first()
    )
    documents = (
        await Document.select(Document.kind, Document.filename)
        .where(Document.application == application_id)
        .order_by(Document.kind)
    )
    if row is None:  # pragma: no cover - visible_application read it just before
        raise NotFound(NOT_FOUND)
    return Identity(
        name=row["name"],
        organisation=row["organisation"],
        job_title=row["job_title"],
        reference=row["reference"] or "",
        documents=documents,
    )


async def panel_application(
    member: Mapping[str, Any], application_id: int, now: datetime
) -> PanelApplication:
    """One application as this member may see it, with their sheet and, once their own
    sheet is submitted, the other members' submitted scores."""
    application = await visible_application(dict(member), application_id)
    round_row = await round_with_seat(member["round"])
    if round_row["stage"] == "collecting":
        raise ScoringClosed("Scoring has not started for this round yet.")
    questions = (
        await Question.select(Question.id, Question.prompt, Question.required)
        .where(Question.seat == round_row["seat"])
        .order_by(Question.position)
        .order_by(Question.id)
    )
    answers = {
        row["question"]: row["text"]
        for row in await Answer.select(Answer.question, Answer.text).where(
            Answer.application == application_id
        )
    }
    statements = {
        row["criterion"]: row["text"]
        for row in await Statement.select(Statement.criterion, Statement.text).where(
            Statement.application == application_id
        )
    }
    criteria = [
        {**c, "statement": statements.get(c["id"], "")} for c in await round_criteria(round_row)
    ]
    sheet = await _sheet(member["id"], application_id)
    view = PanelApplication(
        round=round_row,
        application=application,
        label=panel_label(application),
        identity=await _identity(application_id) if identities_visible(round_row) else None,
        questions=[{**q, "answer": answers.get(q["id"], "")} for q in questions],
        criteria=criteria,
        scale=scale_points(round_row),
        window=scoring_window(round_row, now),
        sheet=sheet,
        scores=await _scores(sheet["id"]) if sheet else {},
    )
    if view.submitted:
        view.others = await others_scores(member, application_id)
    return view


async def others_scores(member: Mapping[str, Any], application_id: int) -> list[dict[str, Any]]:
    """Other members' submitted sheets for an application: only after the member has
    submitted their own, so nobody is swayed before they have made up their mind."""
    await visible_application(dict(member), application_id)
    own = await _sheet(member["id"], application_id)
    if own is None or own["submitted_at"] is None:
        raise Conflict(
            "Submit your own score sheet first: other members' scores are shown only after that."
        )
    sheets = await ScoreSheet.select(
        ScoreSheet.id,
        ScoreSheet.member,
        ScoreSheet.submitted_at,
        ScoreSheet.member.user.name.as_alias("name"),  # type: ignore[union-attr]
    ).where(
        (ScoreSheet.application == application_id)
        & (ScoreSheet.member != member["id"])
        & ScoreSheet.submitted_at.is_not_null()
        & ScoreSheet.member.removed_at.is_null()
    )
    members = {
        row["id"]: row
        for row in await PanelMember.select().where(
            PanelMember.id.is_in([s["member"] for s in sheets] or [0])
        )
    }
    out = []
    for sheet in sorted(sheets, key=lambda s: (s["name"].casefold(), s["id"])):
        # A sheet from a member conflicted on this application (declared after scoring
        # it) does not count, here as in moderation.
        if application_id in await conflicted_application_ids(members[sheet["member"]]):
            continue
        out.append({**sheet, "scores": await _scores(sheet["id"])})
    return out


# ---- Writing ----------------------------------------------------------------------


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
) -> int | None:
    """Save the member's scores (criterion id -> 0..scale_max or None for "not scored")
    and comments (criterion id -> text) on their own sheet; returns the sheet id
    (None when nothing was sent and there is no sheet yet).

    Only the criteria given are written: a criterion left out keeps what was saved.
    """
    now = ensure_aware_utc(now)
    await visible_application(dict(member), application_id)
    round_row = await panel_round(member["round"])
    ensure_scoring_open(round_row, now)
    existing = await _sheet(member["id"], application_id)
    if existing is not None and existing["submitted_at"] is not None:
        raise SheetSubmitted(SUBMITTED_MESSAGE)
    criteria = await round_criteria(round_row)
    clean_values, clean_comments = validate_scores(
        criteria, int(round_row["scale_max"]), values, comments
    )
    if not clean_values and not clean_comments:
        return existing["id"] if existing else None  # nothing to write: no empty sheet
    sheet_id = await _open_sheet(member["id"], application_id, now)
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


async def submit_sheet(
    member: Mapping[str, Any], application_id: int, actor: Actor, now: datetime
) -> bool:
    """Submit the member's sheet: every criterion must be scored. Submitting a sheet
    already submitted changes nothing (a double click); returns whether this call did it."""
    now = ensure_aware_utc(now)
    await visible_application(dict(member), application_id)
    round_row = await panel_round(member["round"])
    ensure_scoring_open(round_row, now)
    sheet = await _sheet(member["id"], application_id)
    if sheet is not None and sheet["submitted_at"] is not None:
        return False
    criteria = await round_criteria(round_row)
    scores = await _scores(sheet["id"]) if sheet else {}
    missing = {
        f"score_{c['id']}": f"Score “{c['title']}” before you submit your score sheet."
        for c in criteria
        if scores.get(c["id"], {}).get("value") is None
    }
    if missing or sheet is None:
        raise ValidationErrors(missing or {"form": "Score every criterion before you submit."})
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


# ---- The chair (and admins) --------------------------------------------------------


async def overseer(user_id: int | None, round_id: int) -> dict[str, Any] | None:
    """May this user oversee the round's scoring? The chair's membership, None for an
    admin, NotFound for anyone else (a member, another round's chair, an applicant)."""
    ensure_record_id(round_id, NOT_FOUND)
    if user_id is None:
        raise NotFound(NOT_FOUND)
    await panel_round(round_id)
    user = await User.select(User.role, User.is_active).where(User.id == user_id).first()
    if user and user["is_active"] and user["role"] == "admin":
        return None
    chair = (
        await PanelMember.select()
        .where(
            (PanelMember.user == user_id)
            & (PanelMember.round == round_id)
            & (PanelMember.role == PanelRole.chair.value)
            & PanelMember.accepted_at.is_not_null()
            & PanelMember.removed_at.is_null()
        )
        .first()
    )
    if chair is None:
        raise NotFound(NOT_FOUND)
    return chair


async def close_scoring(round_id: int, actor: Actor, now: datetime) -> None:
    """Close scoring at this moment (the chair or an admin): the deadline becomes now."""
    now = ensure_aware_utc(now)
    await overseer(actor.user_id, round_id)
    round_row = await panel_round(round_id)
    ensure_scoring_open(round_row, now)
    await Round.update({Round.scoring_deadline: now}).where(Round.id == round_id)
    previous = round_row["scoring_deadline"]
    await record_event(
        actor,
        "scoring.closed",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={"planned_deadline": previous.isoformat() if previous else None},
    )


async def reopen_sheet(round_id: int, sheet_id: int, actor: Actor, now: datetime) -> dict:
    """Reopen a member's submitted sheet (the chair or an admin), while scoring is open."""
    now = ensure_aware_utc(now)
    ensure_record_id(sheet_id, NOT_FOUND)
    await overseer(actor.user_id, round_id)
    round_row = await panel_round(round_id)
    sheet = (
        await ScoreSheet.select(
            ScoreSheet.id,
            ScoreSheet.application,
            ScoreSheet.member,
            ScoreSheet.submitted_at,
        )
        .where((ScoreSheet.id == sheet_id) & (ScoreSheet.member.round == round_id))
        .first()
    )
    if sheet is None:
        raise NotFound(NOT_FOUND)
    if not scoring_window(round_row, now).is_open:
        raise ScoringClosed(
            scoring_window(round_row, now).message
            + " A reopened sheet could not be changed, so it stays submitted."
        )
    if sheet["submitted_at"] is None:
        raise Conflict("That score sheet is not submitted, so there is nothing to reopen.")
    done = (
        await ScoreSheet.update(
            {
                ScoreSheet.submitted_at: None,
                ScoreSheet.reopened_at: now,
                ScoreSheet.reopened_by: actor.user_id,
                ScoreSheet.updated_at: now,
            }
        )
        .where((ScoreSheet.id == sheet_id) & ScoreSheet.submitted_at.is_not_null())
        .returning(ScoreSheet.id)
    )
    if not done:
        raise Conflict("That score sheet is not submitted, so there is nothing to reopen.")
    await record_event(
        actor,
        "scoring.sheet_reopened",
        "score_sheet",
        sheet_id,
        now,
        round_id=round_id,
        detail={
            "application_id": sheet["application"],
            "member_id": sheet["member"],
            "submitted_at": sheet["submitted_at"].isoformat(),
        },
    )
    return sheet


@dataclass
class MemberProgress:
    member_id: int
    name: str
    role: str
    ready: bool
    assigned: int
    scored: int  # every criterion scored
    submitted: int
    sheets: list[dict[str, Any]]  # submitted sheets: id, label, submitted_at


async def progress(round_id: int) -> list[MemberProgress]:
    """Per member of the round: applications to score, fully scored, submitted.
    Applications are named only by panel label here, whatever the round."""
    ensure_record_id(round_id, NOT_FOUND)
    round_row = await panel_round(round_id)
    criteria_count = len(await round_criteria(round_row))
    members = (
        await PanelMember.select(*PanelMember.all_columns(), PanelMember.user.name.as_alias("name"))
        .where(
            (PanelMember.round == round_id)
            & PanelMember.accepted_at.is_not_null()
            & PanelMember.removed_at.is_null()
        )
        .order_by(PanelMember.id)
    )
    sheets = await ScoreSheet.select(
        ScoreSheet.id,
        ScoreSheet.member,
        ScoreSheet.application,
        ScoreSheet.submitted_at,
        ScoreSheet.application.panel_number.as_alias("panel_number"),
    ).where(ScoreSheet.member.round == round_id)
    counts: dict[int, int] = {}
    if sheets:
        for score in await Score.select(Score.sheet).where(
            Score.sheet.is_in([s["id"] for s in sheets]) & Score.value.is_not_null()
        ):
            counts[score["sheet"]] = counts.get(score["sheet"], 0) + 1
    out = []
    for member in members:
        visible = {row["id"] for row in await visible_applications(member)}
        own = [s for s in sheets if s["member"] == member["id"] and s["application"] in visible]
        out.append(
            MemberProgress(
                member_id=member["id"],
                name=member["name"],
                role=member["role"],
                ready=is_ready(member),
                assigned=len(visible),
                scored=sum(
                    1 for s in own if criteria_count and counts.get(s["id"], 0) >= criteria_count
                ),
                submitted=sum(1 for s in own if s["submitted_at"] is not None),
                sheets=[
                    {
                        "id": s["id"],
                        "label": panel_label(s),
                        "submitted_at": s["submitted_at"],
                    }
                    for s in sorted(own, key=lambda s: (s["panel_number"] or 0, s["id"]))
                    if s["submitted_at"] is not None
                ],
            )
        )
    return out
