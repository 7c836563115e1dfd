"""Loading an applicant's own application with everything its rules and pages need,
and the applicant's effective deadline in its round.

Every id that is not the applicant's own is NotFound (never Forbidden), so ids do
not leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor
from portal.domain.errors import NotFound, ensure_record_id
from portal.domain.rounds.deadline import (
    effective_deadline,
    ensure_can_write,
)
from portal.domain.timerules import DEFAULT_ZONE, ensure_aware_utc
from portal.tables import (
    Answer,
    Application,
    Criterion,
    DeadlineExtension,
    Document,
    Question,
    Round,
    Statement,
)

NO_SUCH_APPLICATION = "There is no such application."


@dataclass(frozen=True)
class Deadline:
    """An applicant's effective deadline in a round, and how to state it."""

    closes_at: datetime
    grace_minutes: int
    zone_name: str
    extended: bool

    def ensure_can_write(self, now: datetime) -> None:
        ensure_can_write(
            now, self.closes_at, self.grace_minutes, self.zone_name, extended=self.extended
        )


async def applicant_deadline(round_row: Mapping[str, Any], applicant_id: int) -> Deadline:
    extension = (
        await DeadlineExtension.select(DeadlineExtension.closes_at)
        .where(
            (DeadlineExtension.round == round_row["id"])
            & (DeadlineExtension.applicant == applicant_id)
        )
        .order_by(DeadlineExtension.closes_at, ascending=False)
        .first()
    )
    own = extension["closes_at"] if extension else None
    closes_at = effective_deadline(round_row["closes_at"], own)
    return Deadline(
        closes_at=closes_at,
        grace_minutes=round_row["grace_minutes"],
        zone_name=round_row["timezone"] or DEFAULT_ZONE,
        extended=closes_at > ensure_aware_utc(round_row["closes_at"]),
    )


async def owned_application(application_id: int, applicant_id: int) -> dict[str, Any]:
    ensure_record_id(application_id, NO_SUCH_APPLICATION)
    row = (
        await Application.select()
        .where((Application.id == application_id) & (Application.applicant == applicant_id))
        .first()
    )
    if row is None:
        raise NotFound(NO_SUCH_APPLICATION)
    return row


async def round_with_seat(round_id: int) -> dict[str, Any]:
    row = (
        await Round.select(
            *Round.all_columns(),
            Round.seat.published.as_alias("seat_published"),
            Round.seat.title.as_alias("seat_title"),
        )
        .where(Round.id == round_id)
        .first()
    )
    if row is None:
        raise NotFound("There is no such round.")
    return row


@dataclass
class ApplicationView:
    """Everything the review page needs about one application, read together."""

    application: dict[str, Any]
    round: dict[str, Any]
    deadline: Deadline
    questions: list[dict[str, Any]]
    criteria: list[dict[str, Any]]
    answers: dict[int, str] = field(default_factory=dict)
    statements: dict[int, str] = field(default_factory=dict)
    # kind -> filename, content_type, size, sha256 (never the bytes)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplicationParts:
    """A seat's questions and criteria in page order, and one application's answers,
    statements and documents (never the bytes), as the applicant's and the admin's
    pages both read them."""

    questions: list[dict[str, Any]]
    criteria: list[dict[str, Any]]
    answers: dict[int, str]
    statements: dict[int, str]
    documents: list[dict[str, Any]]  # by kind


async def application_parts(application_id: int, seat_id: int) -> ApplicationParts:
    questions = (
        await Question.select()
        .where(Question.seat == seat_id)
        .order_by(Question.position)
        .order_by(Question.id)
    )
    criteria = (
        await Criterion.select()
        .where(Criterion.seat == seat_id)
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
    return ApplicationParts(
        questions=questions,
        criteria=criteria,
        answers={row["question"]: row["text"] for row in answers},
        statements={row["criterion"]: row["text"] for row in statements},
        documents=documents,
    )


async def load_application(application_id: int, applicant_id: int) -> ApplicationView:
    """The applicant's own application with its round, questions, criteria and parts."""
    application = await owned_application(application_id, applicant_id)
    round_row = await round_with_seat(application["round"])
    parts = await application_parts(application_id, round_row["seat"])
    return ApplicationView(
        application=application,
        round=round_row,
        deadline=await applicant_deadline(round_row, applicant_id),
        questions=parts.questions,
        criteria=parts.criteria,
        answers=parts.answers,
        statements=parts.statements,
        documents={row["kind"]: row for row in parts.documents},
    )


def missing_parts(view: ApplicationView) -> list[str]:
    """What still has to be filled in before submit, in page order, as sentences."""
    missing: list[str] = []
    for number, question in enumerate(view.questions, start=1):
        if question["required"] and not view.answers.get(question["id"], "").strip():
            missing.append(f"Answer question {number}.")
    for criterion in view.criteria:
        if not view.statements.get(criterion["id"], "").strip():
            missing.append(f"Write a statement for “{criterion['title']}”.")
    if "cv" not in view.documents:
        missing.append("Upload your CV.")
    return missing


def applicant_actor(applicant_id: int) -> Actor:
    return Actor(user_id=applicant_id, label=f"applicant {applicant_id}")
