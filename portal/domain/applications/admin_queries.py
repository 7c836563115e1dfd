"""What admins read of applications: every application in a round (never the document
bytes in a list), one application (audited: it holds personal data and an
adjustments request) and its documents (each download audited).

Reads that also write an audit event run in the caller's write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.domain.applications.records import Deadline, applicant_deadline, application_parts
from portal.domain.audit import Actor, record_event
from portal.domain.errors import NotFound, ensure_record_id
from portal.domain.rounds.phase import RoundStage, get_round
from portal.domain.timerules import (
    DEFAULT_ZONE,
    ensure_aware_utc,
)
from portal.tables import (
    Application,
    DeadlineExtension,
    Document,
    Seat,
    Submission,
    User,
)

NO_SUCH_APPLICATION = "There is no such application."


NO_SUCH_DOCUMENT = "This application has no such document."


@dataclass(frozen=True)
class ApplicationSummary:
    """One row of a round's list (and of its CSV)."""

    id: int
    reference: str
    status: str
    name: str
    email: str
    organisation: str
    received_at: datetime | None
    in_grace: bool
    extension_closes_at: datetime | None  # this applicant's own deadline, if extended


@dataclass(frozen=True)
class RoundApplications:
    round: dict[str, Any]
    seat: dict[str, Any]
    zone_name: str
    applications: list[ApplicationSummary]


async def _applicant_extensions(round_id: int) -> dict[int, datetime]:
    """Applicant id -> the latest closing time granted to them alone in this round."""
    rows = await DeadlineExtension.select(
        DeadlineExtension.applicant, DeadlineExtension.closes_at
    ).where((DeadlineExtension.round == round_id) & DeadlineExtension.applicant.is_not_null())
    latest: dict[int, datetime] = {}
    for row in rows:
        applicant = row["applicant"]
        if applicant not in latest or row["closes_at"] > latest[applicant]:
            latest[applicant] = row["closes_at"]
    return latest


async def round_applications(round_id: int) -> RoundApplications:
    """Every application of the round, with applicant and extension, in three queries."""
    round_row = await get_round(round_id)
    seat = await Seat.select(Seat.id, Seat.title).where(Seat.id == round_row["seat"]).first()
    rows = (
        await Application.select(
            Application.id,
            Application.applicant,
            Application.reference,
            Application.status,
            Application.received_at,
            Application.in_grace,
            Application.applicant.name.as_alias("name"),
            Application.applicant.email.as_alias("email"),
            Application.applicant.organisation.as_alias("organisation"),
        )
        .where(Application.round == round_id)
        .order_by(Application.id)
    )
    extensions = await _applicant_extensions(round_id)
    closes_at = ensure_aware_utc(round_row["closes_at"])
    summaries = [
        ApplicationSummary(
            id=row["id"],
            reference=row["reference"] or "",
            status=row["status"],
            name=row["name"] or "",
            email=row["email"] or "",
            organisation=row["organisation"] or "",
            received_at=row["received_at"],
            in_grace=bool(row["in_grace"]),
            # Only an extension that moves this person's deadline is worth showing.
            extension_closes_at=(
                extensions[row["applicant"]]
                if row["applicant"] in extensions and extensions[row["applicant"]] > closes_at
                else None
            ),
        )
        for row in rows
    ]
    return RoundApplications(
        round=round_row,
        seat=seat or {"id": round_row["seat"], "title": "(deleted seat)"},
        zone_name=round_row["timezone"] or DEFAULT_ZONE,
        applications=summaries,
    )


@dataclass
class AdminApplicationView:
    application: dict[str, Any]
    round: dict[str, Any]
    seat: dict[str, Any]
    applicant: dict[str, Any]  # includes the adjustments request: admins only
    deadline: Deadline
    questions: list[dict[str, Any]]
    criteria: list[dict[str, Any]]
    answers: dict[int, str] = field(default_factory=dict)
    statements: dict[int, str] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)  # no bytes
    submissions: list[dict[str, Any]] = field(default_factory=list)  # newest first
    extensions: list[dict[str, Any]] = field(default_factory=list)  # this applicant's

    @property
    def zone_name(self) -> str:
        return self.round["timezone"] or DEFAULT_ZONE

    @property
    def can_extend(self) -> bool:
        return self.round["stage"] == RoundStage.collecting.value


async def _application(application_id: int) -> dict[str, Any]:
    ensure_record_id(application_id, NO_SUCH_APPLICATION)
    row = await Application.select().where(Application.id == application_id).first()
    if row is None:
        raise NotFound(NO_SUCH_APPLICATION)
    return row


async def load_for_admin(application_id: int) -> AdminApplicationView:
    application = await _application(application_id)
    round_row = await get_round(application["round"])
    seat = await Seat.select(Seat.id, Seat.title).where(Seat.id == round_row["seat"]).first()
    # `adjustments` is a secret column: named here on purpose, for this admin page only.
    applicant = (
        await User.select(
            User.id,
            User.name,
            User.email,
            User.organisation,
            User.job_title,
            User.phone,
            User.adjustments,
        )
        .where(User.id == application["applicant"])
        .first()
    )
    parts = await application_parts(application_id, round_row["seat"])
    submissions = (
        await Submission.select(
            Submission.version,
            Submission.received_at,
            Submission.in_grace,
            Submission.content_hash,
        )
        .where(Submission.application == application_id)
        .order_by(Submission.version, ascending=False)
    )
    extensions = (
        await DeadlineExtension.select(
            *DeadlineExtension.all_columns(),
            DeadlineExtension.granted_by.email.as_alias("granted_by_email"),
        )
        .where(
            (DeadlineExtension.round == round_row["id"])
            & (DeadlineExtension.applicant == application["applicant"])
        )
        .order_by(DeadlineExtension.created_at, ascending=False)
        .order_by(DeadlineExtension.id, ascending=False)
    )
    return AdminApplicationView(
        application=application,
        round=round_row,
        seat=seat or {"id": round_row["seat"], "title": "(deleted seat)"},
        applicant=applicant
        or {"id": application["applicant"], "name": "", "email": "", "adjustments": ""},
        deadline=await applicant_deadline(round_row, application["applicant"]),
        questions=parts.questions,
        criteria=parts.criteria,
        answers=parts.answers,
        statements=parts.statements,
        documents=parts.documents,
        submissions=submissions,
        extensions=extensions,
    )


async def view_application(
    application_id: int, actor: Actor, now: datetime
) -> AdminApplicationView:
    """The application for an admin, and an audit event saying who opened it."""
    view = await load_for_admin(application_id)
    await record_event(
        actor,
        "application.viewed",
        "application",
        application_id,
        now,
        round_id=view.round["id"],
    )
    return view


async def download_document(
    application_id: int, kind: str, actor: Actor, now: datetime
) -> dict[str, Any]:
    """The document row with its bytes, and an audit event: who took a copy of which file."""
    application = await _application(application_id)
    if not isinstance(kind, str) or len(kind) > 20:
        raise NotFound(NO_SUCH_DOCUMENT)
    document = (
        await Document.select()
        .where((Document.application == application_id) & (Document.kind == kind))
        .first()
    )
    if document is None:
        raise NotFound(NO_SUCH_DOCUMENT)
    await record_event(
        actor,
        "document.downloaded",
        "application",
        application_id,
        now,
        round_id=application["round"],
        detail={"kind": kind, "filename": document["filename"], "sha256": document["sha256"]},
    )
    return document
