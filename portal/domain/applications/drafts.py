"""Drafts: starting an application, saving answers, statements and documents, and
withdrawing, each under the deadline rule. The caller owns the transaction.

The rule (`portal.domain.rounds.deadline`): an application can be started only before
the applicant's effective deadline; one that exists can be saved, have documents
uploaded and be withdrawn until the grace ends; nothing is written once the round has
left the collecting stage. Each write reads the round `for_write` (see
`records.round_with_seat`), so an admin's stage move and an applicant's write never
overlap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from piccolo.query.mixins import OnConflictAction

from portal.domain.applications.records import (
    answer_label,
    applicant_actor,
    applicant_deadline,
    application_for_write,
    load_application,
    round_with_seat,
    statement_label,
)
from portal.domain.applications.status import (
    ApplicationStatus,
    ensure_editable,
    is_draft,
    transition_application,
)
from portal.domain.applications.words import STATEMENT_WORD_LIMIT, clean_text
from portal.domain.audit import record_event
from portal.domain.errors import Conflict, DomainError, NotFound, ValidationErrors, ensure_record_id
from portal.domain.rounds.phase import RoundPhase, round_phase
from portal.domain.timerules import ensure_aware_utc
from portal.tables import (
    Answer,
    Application,
    Document,
    Statement,
)


async def _own_application_in(round_id: int, applicant_id: int) -> dict | None:
    return (
        await Application.select(Application.id, Application.status)
        .where((Application.applicant == applicant_id) & (Application.round == round_id))
        .first()
    )


async def start_application(applicant_id: int, round_id: int, now: datetime) -> int:
    """A draft for this applicant in an open round of a published seat.

    A second start returns the same application without writing anything (resuming is
    not starting). A new application, or starting a withdrawn one again, is refused from
    the applicant's effective deadline on: the grace is for finishing work that existed
    at the close, never for new work."""
    ensure_record_id(round_id, "There is no such round.")
    round_row = await round_with_seat(round_id, for_write=True)
    if not round_row["seat_published"]:
        raise NotFound("There is no such round.")
    deadline = await applicant_deadline(round_row, applicant_id)
    if round_phase(round_row["opens_at"], round_row["closes_at"], now) is RoundPhase.upcoming:
        raise DomainError("This round is not open for applications yet.")
    existing = await _own_application_in(round_id, applicant_id)
    if existing is not None and existing["status"] != ApplicationStatus.withdrawn.value:
        return existing["id"]
    deadline.ensure_can_start(now)
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
    row = await _own_application_in(round_id, applicant_id)
    if row is None:  # pragma: no cover - the insert or an earlier one made it
        raise Conflict("The application could not be started; try again.")
    if row["status"] == ApplicationStatus.withdrawn.value:
        await transition_application(
            row["id"],
            ApplicationStatus.draft,
            now,
            only_from=[ApplicationStatus.withdrawn],
            values={Application.withdrawn_at: None},
        )
        await record_event(
            applicant_actor(applicant_id),
            "application.restarted",
            "application",
            row["id"],
            now,
            round_id=round_id,
        )
    return row["id"]


async def save_answers(
    application_id: int,
    applicant_id: int,
    answers: Mapping[int, str],
    statements: Mapping[int, str],
    now: datetime,
) -> dict[str, str]:
    """Save answers (question id -> text) and statements (criterion id -> text).

    A text over its word limit is saved all the same and returned marked (field name ->
    message), so closing the tab loses nothing; only submitting is refused until it is
    shortened. Anything that cannot be stored at all (not text, a NUL byte, past the
    character cap) refuses the whole save, with a message per field ("question_<id>",
    "criterion_<id>"), so the page can show the entered values again. Saving a submitted
    application keeps it submitted; the change counts once resubmitted.
    """
    view = await load_application(application_id, applicant_id, for_write=True)
    view.deadline.ensure_can_write(now, finishing=is_draft(view.application))
    ensure_editable(view.application)
    questions = {q["id"]: (number, q) for number, q in enumerate(view.questions, start=1)}
    criteria = {c["id"]: c for c in view.criteria}
    errors: dict[str, str] = {}
    over_limit: dict[str, str] = {}
    clean_answers: dict[int, str] = {}
    clean_statements: dict[int, str] = {}
    for question_id, text in answers.items():
        if question_id not in questions:
            raise DomainError("That question is not part of this application.")
        number, question = questions[question_id]
        clean_answers[question_id] = clean_text(
            text,
            f"question_{question_id}",
            answer_label(number),
            question["word_limit"],
            errors,
            over_limit,
        )
    for criterion_id, text in statements.items():
        if criterion_id not in criteria:
            raise DomainError("That criterion is not part of this application.")
        clean_statements[criterion_id] = clean_text(
            text,
            f"criterion_{criterion_id}",
            statement_label(criteria[criterion_id]["title"]),
            STATEMENT_WORD_LIMIT,
            errors,
            over_limit,
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
    return over_limit


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

    Replaces the earlier document of the same kind. The deadline applies as to any write:
    in the grace, only to a draft (finishing it).
    """
    if kind not in DOCUMENT_KINDS:
        raise DomainError("Choose whether this is your CV or a supporting document.", field="kind")
    application, round_row = await application_for_write(application_id, applicant_id)
    deadline = await applicant_deadline(round_row, applicant_id)
    deadline.ensure_can_write(now, finishing=is_draft(application))
    ensure_editable(application)
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


async def withdraw_application(application_id: int, applicant_id: int, now: datetime) -> list[int]:
    """Withdraw before the effective deadline; earlier submissions stay for admins. Returns
    outbox ids.

    The applicant can start again while the round is open (`start_application`).
    """
    application, round_row = await application_for_write(application_id, applicant_id)
    # Withdrawing is never finishing work: from the deadline on, grace or not, it is refused.
    (await applicant_deadline(round_row, applicant_id)).ensure_can_write(now, finishing=False)
    ensure_editable(application)
    now = ensure_aware_utc(now)
    updated = await transition_application(
        application_id,
        ApplicationStatus.withdrawn,
        now,
        only_from=[ApplicationStatus(application["status"])],
        values={Application.withdrawn_at: now},
    )
    if not updated:
        raise Conflict("This application changed just now; reload and try again.")
    await record_event(
        applicant_actor(applicant_id),
        "application.withdrawn",
        "application",
        application_id,
        now,
        round_id=round_row["id"],
        detail={"from": application["status"]},
    )
    return []  # TODO(issue 3 pages): a withdrawal confirmation mail, built by the web layer like the receipt.
