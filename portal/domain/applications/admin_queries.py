"""What admins see of applications, and the one thing they change here: a per-applicant deadline.

Admins read every application in a round (never the document bytes in a list),
open one (audited: it holds personal data and an adjustments request), download
its documents (audited) and export the round as CSV (audited). A per-applicant
extension is a reasonable adjustment: a later closing time for one person, with a
reason, audited and mailed to them in the same transaction.

Reads that also write an audit event run in the caller's write transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.domain.applications.drafts import Deadline, applicant_deadline
from portal.domain.audit import Actor, record_event
from portal.domain.csv_export import csv_bytes
from portal.domain.errors import Conflict, DomainError, NotFound, ensure_record_id
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.rounds.times import RoundStage, ensure_reason, get_round
from portal.domain.seats.editing import ValidationErrors
from portal.domain.timerules import (
    DEFAULT_ZONE,
    InvalidLocalTime,
    ensure_aware_utc,
    format_instant,
    parse_local,
)
from portal.tables import (
    Answer,
    Application,
    Criterion,
    DeadlineExtension,
    Document,
    Question,
    Seat,
    Statement,
    Submission,
    User,
)

NO_SUCH_APPLICATION = "There is no such application."
NO_SUCH_DOCUMENT = "This application has no such document."


# ---- The list of a round ---------------------------------------------------------


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


CSV_HEADER = (
    "Reference",
    "Status",
    "Applicant name",
    "Email",
    "Organisation",
    "Received (UTC)",
    "Received (local)",
    "In grace",
    "Extension",
)


def _utc_text(value: datetime | None) -> str:
    return ensure_aware_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _local_text(value: datetime | None, zone_name: str) -> str:
    return format_instant(value, zone_name) if value else ""


def applications_csv(listing: RoundApplications) -> bytes:
    zone_name = listing.zone_name
    rows = (
        (
            a.reference,
            a.status,
            a.name,
            a.email,
            a.organisation,
            _utc_text(a.received_at),
            _local_text(a.received_at, zone_name),
            "yes" if a.in_grace else "no",
            _local_text(a.extension_closes_at, zone_name),
        )
        for a in listing.applications
    )
    return csv_bytes(CSV_HEADER, rows)


async def export_round_applications(
    round_id: int, actor: Actor, now: datetime
) -> tuple[RoundApplications, bytes]:
    """The round's CSV, with an audit event: the file carries personal data out of the portal."""
    listing = await round_applications(round_id)
    data = applications_csv(listing)
    await record_event(
        actor,
        "applications.exported",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={"rows": len(listing.applications)},
    )
    return listing, data


# ---- One application -------------------------------------------------------------


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
    questions = (
        await Question.select()
        .where(Question.seat == round_row["seat"])
        .order_by(Question.position)
        .order_by(Question.id)
    )
    criteria = (
        await Criterion.select()
        .where(Criterion.seat == round_row["seat"])
        .order_by(Criterion.position)
        .order_by(Criterion.id)
    )
    answers = await Answer.select(Answer.question, Answer.text).where(
        Answer.application == application_id
    )
    statements = await Statement.select(Statement.criterion, Statement.text).where(
        Statement.application == application_id
    )
    documents = (
        await Document.select(
            Document.kind,
            Document.filename,
            Document.content_type,
            Document.size,
            Document.sha256,
            Document.uploaded_at,
        )
        .where(Document.application == application_id)
        .order_by(Document.kind)
    )
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
        questions=questions,
        criteria=criteria,
        answers={row["question"]: row["text"] for row in answers},
        statements={row["criterion"]: row["text"] for row in statements},
        documents=documents,
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


# ---- A per-applicant extension ---------------------------------------------------


@dataclass
class ApplicantExtensionInput:
    """The extension form as sent: the new closing time on the round's wall clock, and why."""

    closes_date: str = ""
    closes_time: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ExtensionGrantedNotice:
    """What the mail to the applicant needs (never the reason: it may be about their health)."""

    extension_id: int
    round_id: int
    application_id: int
    name: str
    email: str
    seat_title: str
    round_closes_at: datetime
    closes_at: datetime
    zone_name: str


async def grant_extension(
    application_id: int,
    data: ApplicantExtensionInput,
    actor: Actor,
    now: datetime,
    *,
    compose_mail: Callable[[ExtensionGrantedNotice], Mail] | None = None,
) -> list[int]:
    """Give this application's applicant a later closing time. Returns outbox ids to dispatch.

    The new time must be after the round's closing time (otherwise it changes nothing),
    after any extension they already have (an extension never cuts anyone off) and in
    the future. All entry problems are reported together, per field.
    """
    view = await load_for_admin(application_id)
    if not view.can_extend:
        raise Conflict(
            "This round has moved past collecting applications; deadlines can no longer change."
        )
    zone_name = view.zone_name
    errors: dict[str, str] = {}
    closes_at: datetime | None = None
    try:
        closes_at = parse_local(data.closes_date or "", data.closes_time or "", zone_name)
    except InvalidLocalTime as exc:
        part = exc.field if exc.field in ("date", "time") else "date"
        errors[f"closes_{part}"] = f"New deadline {part}: {exc.message}"
    reason = ""
    try:
        reason = ensure_reason(data.reason)
    except DomainError as exc:
        errors["reason"] = exc.message
    if closes_at is not None:
        round_closes = ensure_aware_utc(view.round["closes_at"])
        if closes_at <= round_closes:
            errors["closes_date"] = (
                "The new deadline must be later than the round's closing time, "
                f"{format_instant(round_closes, zone_name)}."
            )
        elif view.deadline.extended and closes_at <= view.deadline.closes_at:
            errors["closes_date"] = (
                "The new deadline must be later than this applicant's current deadline, "
                f"{format_instant(view.deadline.closes_at, zone_name)}."
            )
        elif closes_at <= ensure_aware_utc(now):
            errors["closes_date"] = "The new deadline must be in the future."
    if errors or closes_at is None:
        raise ValidationErrors(errors=errors)
    now = ensure_aware_utc(now)
    applicant_id = view.application["applicant"]
    inserted = await DeadlineExtension.insert(
        DeadlineExtension(
            round=view.round["id"],
            applicant=applicant_id,
            previous_closes_at=view.deadline.closes_at,
            closes_at=closes_at,
            reason=reason,
            granted_by=actor.user_id,
            created_at=now,
        )
    ).returning(DeadlineExtension.id)
    extension_id = inserted[0]["id"]
    await record_event(
        actor,
        "application.extension_granted",
        "application",
        application_id,
        now,
        round_id=view.round["id"],
        detail={
            "applicant_id": applicant_id,
            "from": view.deadline.closes_at.isoformat(),
            "to": closes_at.isoformat(),
            "reason": reason,
        },
    )
    if compose_mail is None:
        return []
    notice = ExtensionGrantedNotice(
        extension_id=extension_id,
        round_id=view.round["id"],
        application_id=application_id,
        name=view.applicant.get("name") or "",
        email=view.applicant.get("email") or "",
        seat_title=view.seat["title"],
        round_closes_at=ensure_aware_utc(view.round["closes_at"]),
        closes_at=closes_at,
        zone_name=zone_name,
    )
    message_id = await enqueue_mail(compose_mail(notice), now)
    return [message_id] if message_id is not None else []
