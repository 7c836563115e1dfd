"""What a panel member reads while scoring: their queue, one application with their
own sheet, and the other members' submitted scores.

Every read of an application goes through `portal.domain.panels.access`, so whatever
a member may not see is NotFound. The sheet and criteria look-ups here are shared
with `portal.domain.scoring.sheets` and `portal.domain.scoring.oversight`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.domain.errors import Conflict, NotFound
from portal.domain.panels.access import (
    NOT_FOUND,
    PANEL_STATUSES,
    conflicted_application_ids,
    is_ready,
    panel_label,
    panel_round,
    revealed_applications,
    visible_application,
)
from portal.domain.scoring.rules import (
    ScalePoint,
    ScoringClosed,
    ScoringWindow,
    SheetStatus,
    scale_points,
    scoring_window,
    sheet_status,
)
from portal.tables import (
    Answer,
    Application,
    Criterion,
    Document,
    PanelMember,
    Question,
    Score,
    ScoreSheet,
    Seat,
    Statement,
)


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


async def member_sheet(member_id: int, application_id: int) -> dict[str, Any] | None:
    return (
        await ScoreSheet.select()
        .where((ScoreSheet.member == member_id) & (ScoreSheet.application == application_id))
        .first()
    )


async def sheet_scores(sheet_id: int) -> dict[int, dict[str, Any]]:
    rows = await Score.select(Score.criterion, Score.value, Score.comment).where(
        Score.sheet == sheet_id
    )
    return {row["criterion"]: row for row in rows}


async def _panel_rows(member: Mapping[str, Any]) -> tuple[list[dict[str, Any]], set[int]]:
    """The round's applications that reach a panel, and the ids hidden from this member."""
    rows = (
        await Application.select(Application.id, Application.status, Application.panel_number)
        .where(
            (Application.round == member["round"]) & Application.status.is_in(list(PANEL_STATUSES))
        )
        .order_by(Application.panel_number)
        .order_by(Application.id)
    )
    return rows, await conflicted_application_ids(dict(member))


async def visible_applications(member: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The applications this member may see, in panel-number order."""
    if not is_ready(dict(member)):
        return []
    rows, hidden = await _panel_rows(member)
    return [row for row in rows if row["id"] not in hidden]


@dataclass
class QueueItem:
    application_id: int
    number: int  # the panel number: "Applicant 7", and what panel URLs carry
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
    withheld: int = 0  # applications hidden from this member by their conflicts

    @property
    def scored(self) -> int:
        return sum(1 for item in self.items if item.complete)

    @property
    def submitted(self) -> int:
        return sum(1 for item in self.items if item.status is SheetStatus.submitted)

    def next_unfinished(self, after: int | None = None) -> QueueItem | None:
        """The next application (after the one with id `after`, wrapping round) that is
        neither submitted nor fully scored."""
        ids = [i.application_id for i in self.items]
        start = ids.index(after) + 1 if after in ids else 0
        for item in self.items[start:] + self.items[:start]:
            if item.application_id != after and not (
                item.complete or item.status is SheetStatus.submitted
            ):
                return item
        return None

    def position(self, application_id: int) -> tuple[int, int] | None:
        """(n, of): where this application stands in the member's queue ("3 of 6")."""
        ids = [i.application_id for i in self.items]
        return (ids.index(application_id) + 1, len(ids)) if application_id in ids else None


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
    applications: list[dict[str, Any]] = []
    withheld = 0
    if round_row["stage"] != "collecting" and is_ready(dict(member)):
        rows, hidden = await _panel_rows(member)
        applications = [row for row in rows if row["id"] not in hidden]
        withheld = len(rows) - len(applications)
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
    revealed = await revealed_applications(round_row)
    names = await _names([i for i in ids if i in revealed])
    items = []
    for row in applications:
        scored = counts.get(row["id"], 0)
        items.append(
            QueueItem(
                application_id=row["id"],
                number=row["panel_number"] or 0,
                label=names.get(row["id"]) or panel_label(row),
                status=sheet_status(sheets.get(row["id"]), scored),
                scored=scored,
                complete=bool(criteria) and scored >= len(criteria),
            )
        )
    return Queue(round_row, items, len(criteria), scoring_window(round_row, now), withheld)


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
    sheet = await member_sheet(member["id"], application_id)
    view = PanelApplication(
        round=round_row,
        application=application,
        label=panel_label(application),
        identity=(
            await _identity(application_id)
            if application_id in await revealed_applications(round_row)
            else None
        ),
        questions=[{**q, "answer": answers.get(q["id"], "")} for q in questions],
        criteria=criteria,
        scale=scale_points(round_row),
        window=scoring_window(round_row, now),
        sheet=sheet,
        scores=await sheet_scores(sheet["id"]) if sheet else {},
    )
    if view.submitted:
        view.others = await others_scores(member, application_id)
    return view


async def others_scores(member: Mapping[str, Any], application_id: int) -> list[dict[str, Any]]:
    """Other members' submitted sheets for an application: only after the member has
    submitted their own, so nobody is swayed before they have made up their mind."""
    await visible_application(dict(member), application_id)
    own = await member_sheet(member["id"], application_id)
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
        out.append({**sheet, "scores": await sheet_scores(sheet["id"])})
    return out
