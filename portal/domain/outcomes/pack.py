"""The shortlist pack: what the panel receives once the shortlist is confirmed.

The pack is read from the database whenever a member opens it, so there is no
build step and nothing to go stale. Every refusal is NotFound (the rules of
`portal.domain.panels.access`): a member of another round, a removed member, a round not yet shortlisted, and an
application the member is conflicted with all look like nothing at all.

Never read here: applicants' email, phone or adjustments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.domain.applications.documents import NO_SUCH_DOCUMENT, SUMMARY_COLUMNS
from portal.domain.audit import Actor, record_event
from portal.domain.errors import NotFound, ensure_record_id
from portal.domain.panels.access import (
    IDENTIFIED_STAGES,
    NOT_FOUND,
    PANEL_STATUSES,
    ConflictDecision,
    conflicted_application_ids,
    ensure_ready,
    membership,
    panel_round,
)
from portal.tables import (
    AgreedScore,
    Answer,
    Criterion,
    Document,
    PanelConflict,
    Score,
    Seat,
    Shortlist,
    ShortlistEntry,
    Statement,
)

# The pack exists from the confirmed shortlist onwards.
PACK_STAGES = IDENTIFIED_STAGES


DOCUMENT_LABELS = {"cv": "CV", "supporting": "Supporting document"}


async def confirmed_shortlist(round_id: int) -> dict[str, Any] | None:
    return (
        await Shortlist.select()
        .where((Shortlist.round == round_id) & Shortlist.confirmed_at.is_not_null())
        .first()
    )


@dataclass(frozen=True)
class MemberScore:
    member_name: str
    value: int | None
    comment: str


@dataclass(frozen=True)
class CriterionResult:
    title: str
    weight: int
    statement: str
    scores: list[MemberScore]
    agreed: int | None = None
    rationale: str = ""

    @property
    def mean(self) -> float | None:
        values = [s.value for s in self.scores if s.value is not None]
        return round(sum(values) / len(values), 2) if values else None


@dataclass(frozen=True)
class PackDocument:
    kind: str
    label: str
    filename: str
    size: int


@dataclass(frozen=True)
class PackApplication:
    id: int
    number: int  # the panel number: what the pack's links and anchors carry
    rank: int
    total: float
    reference: str
    name: str
    organisation: str
    job_title: str
    answers: list[tuple[str, str]]
    criteria: list[CriterionResult]
    documents: list[PackDocument]
    tied: bool = False

    @property
    def rank_label(self) -> str:
        """Equal totals share a rank, shown as "=3" (as on the shortlist)."""
        return f"={self.rank}" if self.tied else str(self.rank)


@dataclass(frozen=True)
class Pack:
    round_id: int
    seat_title: str
    stage: str
    scale_max: int
    timezone: str
    confirmed_at: datetime | None
    applications: list[PackApplication] = field(default_factory=list)
    withheld: int = 0

    @property
    def shortlisted(self) -> int:
        return len(self.applications) + self.withheld


async def _pack_access(user_id: int, round_id: int) -> tuple[dict, dict, dict]:
    """The member, round and confirmed shortlist, or NotFound; NotReady if not yet declared."""
    member = await membership(user_id, round_id)
    round_row = await panel_round(round_id)
    if round_row["stage"] not in PACK_STAGES:
        raise NotFound(NOT_FOUND)
    shortlist = await confirmed_shortlist(round_id)
    if shortlist is None:
        raise NotFound(NOT_FOUND)
    ensure_ready(member)
    return member, round_row, shortlist


async def _entries(shortlist_id: int, round_id: int) -> list[dict[str, Any]]:
    """Shortlisted applications still standing (not withdrawn), in rank order."""
    return (
        await ShortlistEntry.select(
            ShortlistEntry.application,
            ShortlistEntry.rank,
            ShortlistEntry.total,
            ShortlistEntry.application.reference.as_alias("reference"),
            ShortlistEntry.application.panel_number.as_alias("panel_number"),
            ShortlistEntry.application.applicant.name.as_alias("name"),
            ShortlistEntry.application.applicant.organisation.as_alias("organisation"),
            ShortlistEntry.application.applicant.job_title.as_alias("job_title"),
        )
        .where(
            (ShortlistEntry.shortlist == shortlist_id)
            & (ShortlistEntry.application.round == round_id)
            & ShortlistEntry.application.status.is_in(list(PANEL_STATUSES))
        )
        .order_by(ShortlistEntry.rank)
        .order_by(ShortlistEntry.id)
    )


async def counted_scores(application_ids: list[int]) -> list[dict[str, Any]]:
    """The scores that count, as moderation counts them: submitted sheets of members
    still on the panel, without sheets from a member excluded by a conflict."""
    if not application_ids:
        return []
    rows = (
        await Score.select(
            Score.sheet.application.as_alias("application"),
            Score.sheet.member.as_alias("member_id"),
            Score.criterion,
            Score.value,
            Score.comment,
            Score.sheet.member.user.name.as_alias("member_name"),
        )
        .where(
            Score.sheet.application.is_in(application_ids)
            & Score.sheet.submitted_at.is_not_null()
            & Score.sheet.member.removed_at.is_null()
        )
        .order_by(Score.sheet.member.id)
        .order_by(Score.id)
    )
    excluded = {
        (r["member"], r["application"])
        for r in await PanelConflict.select(PanelConflict.member, PanelConflict.application).where(
            PanelConflict.application.is_in(application_ids)
            & (PanelConflict.decision != ConflictDecision.minor.value)
        )
    }
    return [r for r in rows if (r["member_id"], r["application"]) not in excluded]


async def _group(query, key: str) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in await query:
        grouped.setdefault(row[key], []).append(row)
    return grouped


async def load_pack(user_id: int, round_id: int) -> Pack:
    """The pack as this member may see it: conflicted applications withheld (and counted)."""
    member, round_row, shortlist = await _pack_access(user_id, round_id)
    entries = await _entries(shortlist["id"], round_id)
    hidden = await conflicted_application_ids(member)
    visible = [e for e in entries if e["application"] not in hidden]
    ids = [e["application"] for e in visible]
    seat = await Seat.select(Seat.title).where(Seat.id == round_row["seat"]).first()
    pack = Pack(
        round_id=round_id,
        seat_title=seat["title"] if seat else "",
        stage=round_row["stage"],
        scale_max=round_row["scale_max"],
        timezone=round_row["timezone"],
        confirmed_at=shortlist["confirmed_at"],
        withheld=len(entries) - len(visible),
    )
    if not ids:
        return pack
    criteria = (
        await Criterion.select(Criterion.id, Criterion.title, Criterion.weight)
        .where(Criterion.seat == round_row["seat"])
        .order_by(Criterion.position)
        .order_by(Criterion.id)
    )
    answers = await _group(
        Answer.select(Answer.application, Answer.text, Answer.question.prompt.as_alias("prompt"))
        .where(Answer.application.is_in(ids))
        .order_by(Answer.question.position)
        .order_by(Answer.question.id),
        "application",
    )
    statements = await _group(
        Statement.select(Statement.application, Statement.criterion, Statement.text).where(
            Statement.application.is_in(ids)
        ),
        "application",
    )
    documents = await _group(
        Document.select(Document.application, *SUMMARY_COLUMNS)
        .where(Document.application.is_in(ids))
        .order_by(Document.kind),
        "application",
    )
    scores: dict[int, list[dict[str, Any]]] = {}
    for row in await counted_scores(ids):
        scores.setdefault(row["application"], []).append(row)
    agreed = await _group(
        AgreedScore.select(
            AgreedScore.application,
            AgreedScore.criterion,
            AgreedScore.value,
            AgreedScore.rationale,
        ).where(AgreedScore.application.is_in(ids)),
        "application",
    )
    for entry in visible:
        app_id = entry["application"]
        said = {r["criterion"]: r["text"] for r in statements.get(app_id, [])}
        moderated = {r["criterion"]: r for r in agreed.get(app_id, [])}
        results = []
        for criterion in criteria:
            marks = [
                MemberScore(r["member_name"], r["value"], r["comment"])
                for r in scores.get(app_id, [])
                if r["criterion"] == criterion["id"]
            ]
            chair = moderated.get(criterion["id"])
            results.append(
                CriterionResult(
                    title=criterion["title"],
                    weight=criterion["weight"],
                    statement=said.get(criterion["id"], ""),
                    scores=marks,
                    agreed=chair["value"] if chair else None,
                    rationale=chair["rationale"] if chair else "",
                )
            )
        pack.applications.append(
            PackApplication(
                id=app_id,
                number=entry["panel_number"] or 0,
                rank=entry["rank"],
                tied=sum(1 for e in entries if e["rank"] == entry["rank"]) > 1,
                total=entry["total"],
                reference=entry["reference"] or "",
                name=entry["name"],
                organisation=entry["organisation"],
                job_title=entry["job_title"],
                answers=[(r["prompt"], r["text"]) for r in answers.get(app_id, [])],
                criteria=results,
                documents=[
                    PackDocument(
                        kind=d["kind"],
                        label=DOCUMENT_LABELS.get(d["kind"], d["kind"]),
                        filename=d["filename"],
                        size=d["size"],
                    )
                    for d in documents.get(app_id, [])
                ],
            )
        )
    return pack


async def pack_document(
    user_id: int, round_id: int, application_id: int, kind: str, actor: Actor, now: datetime
) -> dict[str, Any]:
    """A shortlisted application's document for a member of its panel, with an audit event.

    Refused alike (NotFound): not a member, removed, round not shortlisted, the
    application not on the confirmed shortlist, or the member conflicted with it.
    """
    ensure_record_id(application_id, NOT_FOUND)
    member, _round, shortlist = await _pack_access(user_id, round_id)
    if kind not in DOCUMENT_LABELS:
        raise NotFound(NO_SUCH_DOCUMENT)
    on_list = await ShortlistEntry.exists().where(
        (ShortlistEntry.shortlist == shortlist["id"])
        & (ShortlistEntry.application == application_id)
        & (ShortlistEntry.application.round == round_id)
        & ShortlistEntry.application.status.is_in(list(PANEL_STATUSES))
    )
    if not on_list or application_id in await conflicted_application_ids(member):
        raise NotFound(NOT_FOUND)
    document = (
        await Document.select(*SUMMARY_COLUMNS, Document.data)
        .where((Document.application == application_id) & (Document.kind == kind))
        .first()
    )
    if document is None:
        raise NotFound(NO_SUCH_DOCUMENT)
    await record_event(
        actor,
        "pack.document_downloaded",
        "application",
        application_id,
        now,
        round_id=round_id,
        detail={"kind": kind, "filename": document["filename"], "member_id": member["id"]},
    )
    return document
