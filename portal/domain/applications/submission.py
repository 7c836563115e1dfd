"""Submitting: the one place a draft becomes a submission, and its receipt.

`submit_application` is the one place a draft becomes a submission. It reads the
database's clock inside the caller's write transaction, decides on-time / in-grace
/ late once (`portal.domain.rounds.deadline.acceptance`), and moves the status with a
conditional UPDATE on the version it read, so any number of concurrent submits of
one application produce exactly one submission and the same receipt.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.db import database_now
from portal.domain.applications.records import (
    ApplicationView,
    Deadline,
    applicant_actor,
    applicant_deadline,
    load_application,
    missing_parts,
    owned_application,
    round_with_seat,
)
from portal.domain.applications.status import (
    EDITABLE,
    ApplicationStatus,
    ApplicationWithdrawn,
    transition_application,
)
from portal.domain.audit import record_event
from portal.domain.errors import Conflict, DomainError, NotFound
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.rounds.deadline import (
    Accepted,
    DeadlinePassed,
    acceptance,
    is_collecting,
)
from portal.domain.timerules import ensure_aware_utc
from portal.tables import (
    Application,
    Submission,
    User,
)

# Unambiguous characters for references people read out on the phone (no 0/O, 1/I/L).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


REFERENCE_LENGTH = 6


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
    # The applicant's effective deadline: whether the receipt may say they can still
    # change it (only if received before it; the grace is never advertised).
    closes_at: datetime
    repeated: bool = False  # True when this submit found the same content already submitted
    outbox_ids: list[int] = field(default_factory=list)


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


async def _receipt_of(
    application: Mapping[str, Any], deadline: Deadline, *, repeated: bool
) -> Receipt:
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
        zone_name=deadline.zone_name,
        closes_at=deadline.closes_at,
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
    # Locked for the write: racing submits of one application run one after the other,
    # so a request that loses the race reads the winner's submission below and gets its
    # receipt, however late it arrived itself.
    view = await load_application(application_id, applicant_id, for_write=True)
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
        return await _receipt_of(application, deadline, repeated=True)
    if not view.round["seat_published"]:
        raise DomainError("This seat is no longer open for applications.")
    missing = missing_parts(view)
    if missing:
        raise DomainError("Your application is not ready to submit yet: " + " ".join(missing))
    if not is_collecting(deadline.stage):
        raise DeadlinePassed(
            deadline.closes_at, deadline.zone_name, extended=deadline.extended, stage=deadline.stage
        )

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
    updated = await transition_application(
        application_id,
        ApplicationStatus.submitted,
        received_at,
        only_from=[status],
        where=Application.version == application["version"],
        values={
            Application.reference: reference,
            Application.version: version,
            Application.submitted_at: received_at,
            Application.received_at: received_at,
            Application.in_grace: decision.in_grace,
            Application.content_hash: digest,
        },
    )
    if not updated:
        current = await owned_application(application_id, applicant_id)
        if (
            current["status"] == ApplicationStatus.submitted.value
            and current["content_hash"] == digest
        ):
            return await _receipt_of(current, deadline, repeated=True)
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
        applicant_actor(applicant_id),
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
        closes_at=deadline.closes_at,
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
    application = await owned_application(application_id, applicant_id)
    if not application["version"]:
        raise NotFound("This application has not been submitted yet.")
    round_row = await round_with_seat(application["round"])
    deadline = await applicant_deadline(round_row, applicant_id)
    return await _receipt_of(application, deadline, repeated=True)
