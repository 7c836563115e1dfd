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

from portal.domain.applications.words import STATEMENT_WORD_LIMIT, count_words, over_limit_message
from portal.domain.audit import Actor
from portal.domain.errors import NotFound, ensure_record_id
from portal.domain.rounds.deadline import (
    COLLECTING,
    can_start,
    can_write,
    effective_deadline,
    ensure_can_start,
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
    """An applicant's effective deadline in a round, the round's stage, and how to state them.

    The rules are `portal.domain.rounds.deadline`'s: writes to an existing application
    until the grace ends while the round is collecting; starts before the deadline only.
    """

    closes_at: datetime
    grace_minutes: int
    zone_name: str
    extended: bool
    stage: str = COLLECTING

    def can_write(self, now: datetime, *, finishing: bool = True) -> bool:
        return can_write(now, self.closes_at, self.grace_minutes, self.stage, finishing=finishing)

    def can_start(self, now: datetime) -> bool:
        return can_start(now, self.closes_at, self.stage)

    def is_before(self, now: datetime) -> bool:
        """Before the effective deadline, while collecting: the only time a page may say
        the application can still be changed (the grace is never advertised)."""
        return can_start(now, self.closes_at, self.stage)

    def ensure_can_write(self, now: datetime, *, finishing: bool = True) -> None:
        ensure_can_write(
            now,
            self.closes_at,
            self.grace_minutes,
            self.zone_name,
            extended=self.extended,
            stage=self.stage,
            finishing=finishing,
        )

    def ensure_can_start(self, now: datetime) -> None:
        ensure_can_start(
            now, self.closes_at, self.zone_name, extended=self.extended, stage=self.stage
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
        stage=round_row["stage"],
    )


def _row_locks() -> bool:
    return Round._meta.db.engine_type != "sqlite"


async def owned_application(
    application_id: int, applicant_id: int, *, lock: bool = False
) -> dict[str, Any]:
    """`lock`: on PostgreSQL, hold the row until the transaction ends, so two writes to
    one application (a double click, two tabs) run one after the other, the second
    reading what the first committed. Take it after the round's lock (`round_with_seat`),
    never before: an admin's stage move locks the round, then the applications."""
    ensure_record_id(application_id, NO_SUCH_APPLICATION)
    query = (
        Application.select()
        .where((Application.id == application_id) & (Application.applicant == applicant_id))
        .first()
    )
    if lock and _row_locks():
        query = query.lock_rows("NO KEY UPDATE")
    row = await query
    if row is None:
        raise NotFound(NO_SUCH_APPLICATION)
    return row


async def round_with_seat(round_id: int, *, for_write: bool = False) -> dict[str, Any]:
    """The round with its seat's title and whether it is published.

    `for_write`: an applicant's write is about to follow in this transaction. On
    PostgreSQL the round's row is then share-locked until the transaction ends, so an
    admin's stage move (an UPDATE of that row) waits for the write to commit, and a
    write that starts after the move reads the new stage: no applicant write lands
    after the round left collecting. SQLite's write transactions already run one at a
    time (IMMEDIATE).
    """
    query = (
        Round.select(
            *Round.all_columns(),
            Round.seat.published.as_alias("seat_published"),
            Round.seat.title.as_alias("seat_title"),
        )
        .where(Round.id == round_id)
        .first()
    )
    if for_write and _row_locks():
        query = query.lock_rows("SHARE", of=(Round,))
    row = await query
    if row is None:
        raise NotFound("There is no such round.")
    return row


async def application_for_write(
    application_id: int, applicant_id: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The applicant's application and its round, before a write: the round's lock, then
    the application's, in that order (see `round_with_seat` and `owned_application`);
    the application is read again under its lock, so it is what the write will change."""
    application = await owned_application(application_id, applicant_id)
    round_row = await round_with_seat(application["round"], for_write=True)
    if _row_locks():
        application = await owned_application(application_id, applicant_id, lock=True)
    return application, round_row


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


async def load_application(
    application_id: int, applicant_id: int, *, for_write: bool = False
) -> ApplicationView:
    """The applicant's own application with its round, questions, criteria and parts
    (`for_write`: read as `application_for_write` does)."""
    if for_write:
        application, round_row = await application_for_write(application_id, applicant_id)
    else:
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


def answer_label(number: int) -> str:
    return f"Your answer to question {number}"


def statement_label(title: str) -> str:
    return f"Your statement for “{title}”"


def over_limit_fields(view: ApplicationView) -> dict[str, str]:
    """Saved answers and statements over their word limits, by form field: a draft keeps
    them (marked on the form); submitting is refused until they are shortened."""
    marks: dict[str, str] = {}
    for number, question in enumerate(view.questions, start=1):
        words = count_words(view.answers.get(question["id"], ""))
        if words > question["word_limit"]:
            marks[f"question_{question['id']}"] = over_limit_message(
                answer_label(number), words, question["word_limit"]
            )
    for criterion in view.criteria:
        words = count_words(view.statements.get(criterion["id"], ""))
        if words > STATEMENT_WORD_LIMIT:
            marks[f"criterion_{criterion['id']}"] = over_limit_message(
                statement_label(criterion["title"]), words, STATEMENT_WORD_LIMIT
            )
    return marks


def missing_fields(view: ApplicationView) -> list[tuple[str, str]]:
    """What still has to be done before submit, in page order, each with the form field
    that fixes it ("cv" for the upload): empty required parts and texts over their limits."""
    marks = over_limit_fields(view)
    missing: list[tuple[str, str]] = []
    for number, question in enumerate(view.questions, start=1):
        name = f"question_{question['id']}"
        if question["required"] and not view.answers.get(question["id"], "").strip():
            missing.append((name, f"Answer question {number}."))
        elif name in marks:
            missing.append((name, marks[name]))
    for criterion in view.criteria:
        name = f"criterion_{criterion['id']}"
        if not view.statements.get(criterion["id"], "").strip():
            missing.append((name, f"Write a statement for “{criterion['title']}”."))
        elif name in marks:
            missing.append((name, marks[name]))
    if "cv" not in view.documents:
        missing.append(("cv", "Upload your CV."))
    return missing


def missing_parts(view: ApplicationView) -> list[str]:
    """`missing_fields` as sentences: what submit refuses to go without."""
    return [message for _, message in missing_fields(view)]


def applicant_actor(applicant_id: int) -> Actor:
    return Actor(user_id=applicant_id, label=f"applicant {applicant_id}")
