"""Applications: start, save, submit and withdraw, under the deadline rule.

`submit_application` is the one place a draft becomes a submission. It reads the
database's clock inside the caller's write transaction, decides on-time / in-grace
/ late once (`portal.domain.rounds.deadline.acceptance`), and moves the status with a
conditional UPDATE on the version it read, so any number of concurrent submits of
one application produce exactly one submission and the same receipt.

Every id that is not the applicant's own is NotFound (never Forbidden), so ids
do not leak. The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine
from piccolo.query.mixins import OnConflictAction

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, NotFound, ensure_record_id
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.rounds.deadline import (
    Accepted,
    DeadlinePassed,
    acceptance,
    effective_deadline,
    ensure_can_write,
)
from portal.domain.rounds.times import RoundPhase, round_phase
from portal.domain.seats.editing import ValidationErrors
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
    Submission,
    User,
)

# A generous cap on any one text, far above any word limit: it stops a 1 MB paste
# before it reaches the database, with a message instead of a 500.
MAX_TEXT_CHARS = 20_000
STATEMENT_WORD_LIMIT = 500
NO_SUCH_APPLICATION = "There is no such application."
# Unambiguous characters for references people read out on the phone (no 0/O, 1/I/L).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 6


class ApplicationStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    withdrawn = "withdrawn"
    shortlisted = "shortlisted"
    unsuccessful = "unsuccessful"
    appointed = "appointed"


EDITABLE = frozenset({ApplicationStatus.draft, ApplicationStatus.submitted})


class ApplicationWithdrawn(Conflict):
    """A write to an application its owner withdrew."""


# ---- Words -----------------------------------------------------------------------

# The word rule, shared with the page's counter: a word is a run of characters
# between separators, and the separators are exactly JavaScript's `\s` class, so
# `text.split(/[...]+/)` in the browser counts the same (Python's own whitespace
# differs at the edges, e.g. U+001C..U+001F and U+FEFF).
WORD_SEPARATORS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_WORD = re.compile(f"[^{WORD_SEPARATORS}]+")


def count_words(text: str) -> int:
    """Whitespace-separated tokens: "co-operate" and "£5,000" are one word each."""
    return sum(1 for _ in _WORD.finditer(text or ""))


def clean_text(
    text: Any, field_name: str, label: str, word_limit: int, errors: dict[str, str]
) -> str:
    """Normalise line ends and trim; record a message in `errors` for anything refused."""
    if not isinstance(text, str):
        errors[field_name] = f"{label}: enter text."
        return ""
    if "\x00" in text:
        errors[field_name] = (
            f"{label} contains a character that cannot be saved (a NUL byte); remove it and try again."
        )
        return ""
    if len(text) > MAX_TEXT_CHARS:
        errors[field_name] = f"{label} is too long: keep it under {word_limit} words."
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    words = count_words(text)
    if words > word_limit:
        errors[field_name] = f"{label} has {words} words; the limit is {word_limit}."
    return text


# ---- Loading ---------------------------------------------------------------------


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


async def _owned(application_id: int, applicant_id: int) -> dict[str, Any]:
    ensure_record_id(application_id, NO_SUCH_APPLICATION)
    row = (
        await Application.select()
        .where((Application.id == application_id) & (Application.applicant == applicant_id))
        .first()
    )
    if row is None:
        raise NotFound(NO_SUCH_APPLICATION)
    return row


async def _round_with_seat(round_id: int) -> dict[str, Any]:
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


def _ensure_editable(application: Mapping[str, Any]) -> None:
    status = ApplicationStatus(application["status"])
    if status is ApplicationStatus.withdrawn:
        raise ApplicationWithdrawn("You withdrew this application. Start it again to make changes.")
    if status not in EDITABLE:
        raise Conflict("This application can no longer be changed.")


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


async def load_application(application_id: int, applicant_id: int) -> ApplicationView:
    """The applicant's own application with its round, questions, criteria and parts."""
    application = await _owned(application_id, applicant_id)
    round_row = await _round_with_seat(application["round"])
    seat_id = round_row["seat"]
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
    documents = await Document.select(
        Document.kind, Document.filename, Document.content_type, Document.size, Document.sha256
    ).where(Document.application == application_id)
    return ApplicationView(
        application=application,
        round=round_row,
        deadline=await applicant_deadline(round_row, applicant_id),
        questions=questions,
        criteria=criteria,
        answers={row["question"]: row["text"] for row in answers},
        statements={row["criterion"]: row["text"] for row in statements},
        documents={row["kind"]: row for row in documents},
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


# ---- Starting and saving ---------------------------------------------------------


async def start_application(applicant_id: int, round_id: int, now: datetime) -> int:
    """A draft for this applicant in an open round of a published seat; a second start
    returns the same application (and reopens a withdrawn one as a draft)."""
    ensure_record_id(round_id, "There is no such round.")
    round_row = await _round_with_seat(round_id)
    if not round_row["seat_published"]:
        raise NotFound("There is no such round.")
    deadline = await applicant_deadline(round_row, applicant_id)
    if round_phase(round_row["opens_at"], round_row["closes_at"], now) is RoundPhase.upcoming:
        raise DomainError("This round is not open for applications yet.")
    deadline.ensure_can_write(now)
    now = ensure_aware_utc(now)
    # ON CONFLICT DO NOTHING on the (applicant, round) unique index: two starts at
    # once (two tabs) make one row instead of an integrity error.
    await Application.insert(
        Application(
            applicant=applicant_id,
            round=round_id,
            status=ApplicationStatus.draft.value,
            created_at=now,
            updated_at=now,
        )
    ).on_conflict(action=OnConflictAction.do_nothing)
    row = (
        await Application.select(Application.id, Application.status)
        .where((Application.applicant == applicant_id) & (Application.round == round_id))
        .first()
    )
    if row is None:  # pragma: no cover - the insert or an earlier one made it
        raise Conflict("The application could not be started; try again.")
    if row["status"] == ApplicationStatus.withdrawn.value:
        await Application.update(
            {
                Application.status: ApplicationStatus.draft.value,
                Application.withdrawn_at: None,
                Application.updated_at: now,
            }
        ).where(
            (Application.id == row["id"])
            & (Application.status == ApplicationStatus.withdrawn.value)
        )
        await record_event(
            _applicant(applicant_id),
            "application.restarted",
            "application",
            row["id"],
            now,
            round_id=round_id,
        )
    return row["id"]


def _applicant(applicant_id: int) -> Actor:
    return Actor(user_id=applicant_id, label=f"applicant {applicant_id}")


async def save_answers(
    application_id: int,
    applicant_id: int,
    answers: Mapping[int, str],
    statements: Mapping[int, str],
    now: datetime,
) -> None:
    """Save answers (question id -> text) and statements (criterion id -> text).

    All or nothing: one refused text refuses the save, with a message per field
    ("question_<id>", "criterion_<id>"), so the page can show the entered values again.
    Saving a submitted application keeps it submitted; the change counts once resubmitted.
    """
    view = await load_application(application_id, applicant_id)
    view.deadline.ensure_can_write(now)
    _ensure_editable(view.application)
    questions = {q["id"]: (number, q) for number, q in enumerate(view.questions, start=1)}
    criteria = {c["id"]: c for c in view.criteria}
    errors: dict[str, str] = {}
    clean_answers: dict[int, str] = {}
    clean_statements: dict[int, str] = {}
    for question_id, text in answers.items():
        if question_id not in questions:
            raise DomainError("That question is not part of this application.")
        number, question = questions[question_id]
        clean_answers[question_id] = clean_text(
            text,
            f"question_{question_id}",
            f"Your answer to question {number}",
            question["word_limit"],
            errors,
        )
    for criterion_id, text in statements.items():
        if criterion_id not in criteria:
            raise DomainError("That criterion is not part of this application.")
        clean_statements[criterion_id] = clean_text(
            text,
            f"criterion_{criterion_id}",
            f"Your statement for “{criteria[criterion_id]['title']}”",
            STATEMENT_WORD_LIMIT,
            errors,
        )
    if errors:
        raise ValidationErrors(errors=errors)
    now = ensure_aware_utc(now)
    for question_id, text in clean_answers.items():
        await Answer.insert(
            Answer(application=application_id, question=question_id, text=text, updated_at=now)
        ).on_conflict(
            target=(Answer.application, Answer.question),
            action=OnConflictAction.do_update,
            values=[Answer.text, Answer.updated_at],
        )
    for criterion_id, text in clean_statements.items():
        await Statement.insert(
            Statement(application=application_id, criterion=criterion_id, text=text, updated_at=now)
        ).on_conflict(
            target=(Statement.application, Statement.criterion),
            action=OnConflictAction.do_update,
            values=[Statement.text, Statement.updated_at],
        )
    await Application.update({Application.updated_at: now}).where(Application.id == application_id)


DOCUMENT_KINDS = frozenset({"cv", "supporting"})


async def save_document(
    application_id: int,
    applicant_id: int,
    *,
    kind: str,
    filename: str,
    content_type: str,
    data: bytes,
    sha256: str,
    now: datetime,
) -> None:
    """Store an upload the web layer has already checked (type by content, size, name).

    Replaces the earlier document of the same kind. The deadline applies as to any write.
    """
    if kind not in DOCUMENT_KINDS:
        raise DomainError("Choose whether this is your CV or a supporting document.", field="kind")
    application = await _owned(application_id, applicant_id)
    round_row = await _round_with_seat(application["round"])
    (await applicant_deadline(round_row, applicant_id)).ensure_can_write(now)
    _ensure_editable(application)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise DomainError("The file did not arrive intact; upload it again.", field=kind)
    now = ensure_aware_utc(now)
    await Document.insert(
        Document(
            application=application_id,
            kind=kind,
            filename=filename[:255],
            content_type=content_type[:100],
            size=len(data),
            sha256=sha256,
            data=data,
            uploaded_at=now,
        )
    ).on_conflict(
        target=(Document.application, Document.kind),
        action=OnConflictAction.do_update,
        values=[
            Document.filename,
            Document.content_type,
            Document.size,
            Document.sha256,
            Document.data,
            Document.uploaded_at,
        ],
    )
    await Application.update({Application.updated_at: now}).where(Application.id == application_id)


# ---- Submitting ------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What the receipt page and mail state. `outbox_ids` are for the caller to dispatch after commit."""

    application_id: int
    reference: str
    version: int
    received_at: datetime
    in_grace: bool
    content_hash: str
    zone_name: str
    repeated: bool = False  # True when this submit found the same content already submitted
    outbox_ids: list[int] = field(default_factory=list)


async def database_now() -> datetime:
    """The database's clock, as aware UTC, on the caller's transaction's connection.

    SQLite: the time the statement runs (after the IMMEDIATE write lock was taken;
    waits are bounded by the busy timeout, well inside the grace). PostgreSQL:
    `now()`, the start of the transaction, i.e. when the write began, before any
    lock wait.
    """
    if isinstance(Application._meta.db, SQLiteEngine):
        rows = await Application.raw("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') AS now")
        return datetime.strptime(rows[0]["now"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    rows = await Application.raw("SELECT now() AS now")
    return ensure_aware_utc(rows[0]["now"])


def submitted_content(view: ApplicationView) -> dict[str, Any]:
    """The canonical record of what is submitted: texts in id order, document hashes, no bytes."""
    return {
        "round": view.round["id"],
        "answers": [
            {"question": qid, "text": text}
            for qid, text in sorted(view.answers.items())
            if text.strip()
        ],
        "statements": [
            {"criterion": cid, "text": text}
            for cid, text in sorted(view.statements.items())
            if text.strip()
        ],
        "documents": [
            {
                "kind": kind,
                "filename": doc["filename"],
                "size": doc["size"],
                "sha256": doc["sha256"],
            }
            for kind, doc in sorted(view.documents.items())
        ],
    }


def content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 over canonical JSON (sorted keys, no spaces, UTF-8): the receipt's proof."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def has_unsubmitted_changes(view: ApplicationView) -> bool:
    """A submitted application edited since: the last submitted version still stands until resubmitted."""
    application = view.application
    return application["status"] == ApplicationStatus.submitted.value and application[
        "content_hash"
    ] != content_hash(submitted_content(view))


def make_reference(year: int) -> str:
    """ "SP-2026-7K3F9Q": the year received and six unambiguous random characters."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"SP-{year}-{code}"


async def _new_reference(year: int) -> str:
    for _ in range(10):
        reference = make_reference(year)
        if not await Application.exists().where(Application.reference == reference):
            return reference
    raise Conflict("Could not make a reference number just now; submit again.")  # pragma: no cover


async def _receipt_of(application: Mapping[str, Any], zone_name: str, *, repeated: bool) -> Receipt:
    submission = (
        await Submission.select()
        .where(
            (Submission.application == application["id"])
            & (Submission.version == application["version"])
        )
        .first()
    )
    if submission is None:  # pragma: no cover - every submitted version has its row
        raise Conflict("This application's receipt is missing; contact us.")
    return Receipt(
        application_id=application["id"],
        reference=application["reference"],
        version=submission["version"],
        received_at=submission["received_at"],
        in_grace=submission["in_grace"],
        content_hash=submission["content_hash"],
        zone_name=zone_name,
        repeated=repeated,
    )


async def submit_application(
    application_id: int,
    applicant_id: int,
    *,
    receipt_mail: Callable[[Receipt, Mapping[str, Any]], Mail] | None = None,
    arrived_at: datetime | None = None,
) -> Receipt:
    """Turn the applicant's draft (or changed submission) into a submission, once.

    `arrived_at` is the database clock read when the request arrived, just before the
    write transaction began (`database_now()` outside it). On SQLite the clock read
    inside the transaction comes after the wait for the single write lock, so a
    submit queued behind others at the deadline would otherwise be judged by when it
    reached the front; PostgreSQL's `now()` is already the transaction's start. The
    earlier of the two readings decides, once, here.

    `receipt_mail(receipt, applicant_row)` builds the receipt mail (the web layer has
    the templates); it is queued in this transaction and its id returned in the
    receipt for dispatch after commit. Without it no mail is queued.
    """
    view = await load_application(application_id, applicant_id)
    application = view.application
    deadline = view.deadline
    status = ApplicationStatus(application["status"])
    if status is ApplicationStatus.withdrawn:
        raise ApplicationWithdrawn("You withdrew this application. Start it again to submit it.")
    if status not in EDITABLE:
        raise Conflict(
            "This application has already been considered and cannot be submitted again."
        )
    content = submitted_content(view)
    digest = content_hash(content)
    if status is ApplicationStatus.submitted and application["content_hash"] == digest:
        # Double click, retry, second tab: the same receipt, even after the deadline.
        return await _receipt_of(application, deadline.zone_name, repeated=True)
    if not view.round["seat_published"]:
        raise DomainError("This seat is no longer open for applications.")
    missing = missing_parts(view)
    if missing:
        raise DomainError("Your application is not complete yet: " + " ".join(missing))

    received_at = await database_now()
    if arrived_at is not None:
        received_at = min(received_at, ensure_aware_utc(arrived_at))
    decision = acceptance(received_at, deadline.closes_at, deadline.grace_minutes)
    if not isinstance(decision, Accepted):
        raise DeadlinePassed(
            deadline.closes_at,
            deadline.zone_name,
            extended=deadline.extended,
            received_at=received_at,
        )

    reference = application["reference"] or await _new_reference(received_at.year)
    version = application["version"] + 1
    # Conditional on the version read: of many concurrent submits one updates the
    # row; the others update nothing and return the winner's receipt below.
    updated = (
        await Application.update(
            {
                Application.status: ApplicationStatus.submitted.value,
                Application.reference: reference,
                Application.version: version,
                Application.submitted_at: received_at,
                Application.received_at: received_at,
                Application.in_grace: decision.in_grace,
                Application.content_hash: digest,
                Application.updated_at: received_at,
            }
        )
        .where(
            (Application.id == application_id)
            & (Application.version == application["version"])
            & (Application.status == status.value)
        )
        .returning(Application.id)
    )
    if not updated:
        current = await _owned(application_id, applicant_id)
        if (
            current["status"] == ApplicationStatus.submitted.value
            and current["content_hash"] == digest
        ):
            return await _receipt_of(current, deadline.zone_name, repeated=True)
        raise Conflict(
            "This application changed while it was being submitted; check it and submit again."
        )

    await Submission.insert(
        Submission(
            application=application_id,
            version=version,
            received_at=received_at,
            in_grace=decision.in_grace,
            content_hash=digest,
            snapshot={**content, "reference": reference, "received_at": received_at.isoformat()},
        )
    )
    await record_event(
        _applicant(applicant_id),
        "application.submitted",
        "application",
        application_id,
        received_at,
        round_id=view.round["id"],
        detail={
            "reference": reference,
            "version": version,
            "in_grace": decision.in_grace,
            "content_hash": digest,
        },
    )
    receipt = Receipt(
        application_id=application_id,
        reference=reference,
        version=version,
        received_at=received_at,
        in_grace=decision.in_grace,
        content_hash=digest,
        zone_name=deadline.zone_name,
    )
    if receipt_mail is not None:
        applicant = (
            await User.select(User.id, User.email, User.name).where(User.id == applicant_id).first()
        )
        message_id = await enqueue_mail(receipt_mail(receipt, applicant or {}), received_at)
        if message_id is not None:
            receipt.outbox_ids.append(message_id)
    return receipt


async def latest_receipt(application_id: int, applicant_id: int) -> Receipt:
    """The receipt of the latest submitted version (for the receipt page after a redirect)."""
    application = await _owned(application_id, applicant_id)
    if not application["version"]:
        raise NotFound("This application has not been submitted yet.")
    round_row = await _round_with_seat(application["round"])
    return await _receipt_of(application, round_row["timezone"] or DEFAULT_ZONE, repeated=True)


# ---- Withdrawing -----------------------------------------------------------------


async def withdraw_application(application_id: int, applicant_id: int, now: datetime) -> list[int]:
    """Withdraw before the deadline; earlier submissions stay for admins. Returns outbox ids.

    The applicant can start again while the round is open (`start_application`).
    """
    application = await _owned(application_id, applicant_id)
    round_row = await _round_with_seat(application["round"])
    (await applicant_deadline(round_row, applicant_id)).ensure_can_write(now)
    _ensure_editable(application)
    now = ensure_aware_utc(now)
    updated = (
        await Application.update(
            {
                Application.status: ApplicationStatus.withdrawn.value,
                Application.withdrawn_at: now,
                Application.updated_at: now,
            }
        )
        .where((Application.id == application_id) & (Application.status == application["status"]))
        .returning(Application.id)
    )
    if not updated:
        raise Conflict("This application changed just now; reload and try again.")
    await record_event(
        _applicant(applicant_id),
        "application.withdrawn",
        "application",
        application_id,
        now,
        round_id=round_row["id"],
        detail={"from": application["status"]},
    )
    return []  # TODO(issue 3 pages): a withdrawal confirmation mail, built by the web layer like the receipt.
