"""The outbox: every mail is first a row written in the caller's transaction.

The broker only ever carries a row id. A delivery claims the row (pending ->
sending) in one conditional UPDATE, so a second delivery of the same id finds
nothing to claim and sends nothing; the dedupe key makes "the same mail twice"
impossible to even write. Rows stuck in `sending` past the lease are re-driven by
the sweep.

Late mail is worse than no mail: a message older than the age limit (the caller
passes it; the domain reads no settings) is not claimed but `held` for an admin to
send anyway or discard, and a message past its own `expires_at` (a reminder about
a deadline that has gone) is never sent and is discarded by the sweep.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, NotFound, ensure_record_id
from portal.domain.timerules import describe_duration, ensure_aware_utc
from portal.tables import OutboxMessage

LEASE = timedelta(minutes=5)
INSERT_CHUNK = 500  # rows per INSERT in enqueue_mails
MAX_ATTEMPTS = 8
SWEEP_BATCH = 500


class OutboxState(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    # Waited longer than the age limit: not sent late unless an admin releases it.
    held = "held"
    # Never to be sent: an admin's decision (a failed one not worth retrying, or a
    # pending one written by mistake), or the message's own deadline passed. Final.
    discarded = "discarded"


@dataclass(frozen=True)
class Mail:
    kind: str
    dedupe_key: str
    recipient: str
    subject: str
    body_text: str
    body_html: str = ""
    round_id: int | None = None
    headers: dict[str, str] | None = None
    # Never sent after this instant (a reminder about a deadline that has passed).
    expires_at: datetime | None = None


def _row(mail: Mail, now: datetime) -> OutboxMessage:
    return OutboxMessage(
        kind=mail.kind,
        dedupe_key=mail.dedupe_key,
        recipient=mail.recipient,
        subject=mail.subject,
        body_text=mail.body_text,
        body_html=mail.body_html,
        headers=mail.headers or {},
        status=OutboxState.pending.value,
        round=mail.round_id,
        created_at=now,
        next_attempt_at=now,
        expires_at=ensure_aware_utc(mail.expires_at) if mail.expires_at else None,
    )


async def enqueue_mail(mail: Mail, now: datetime) -> int | None:
    """Write the mail; returns its id, or None if a mail with that dedupe key exists."""
    written = await enqueue_mails([mail], now)
    return written.get(mail.dedupe_key)


async def enqueue_mails(mails: list[Mail], now: datetime) -> dict[str, int]:
    """Write many mails in one INSERT; returns dedupe key -> id for the rows written.

    A dedupe key already in the outbox writes nothing (ON CONFLICT DO NOTHING against
    its unique index), so a retried or concurrent caller never queues a mail twice.
    """
    now = ensure_aware_utc(now)
    written: dict[str, int] = {}
    # In chunks: SQLite caps the parameters of one statement (13 columns a row).
    for start in range(0, len(mails), INSERT_CHUNK):
        rows = (
            await OutboxMessage.insert(
                *[_row(mail, now) for mail in mails[start : start + INSERT_CHUNK]]
            )
            .on_conflict(action="DO NOTHING")
            .returning(OutboxMessage.id, OutboxMessage.dedupe_key)
        )
        written.update({r["dedupe_key"]: r["id"] for r in rows})
    return written


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """Piccolo hands JSON columns back as text; callers want the headers as a dict."""
    headers = row.get("headers")
    if isinstance(headers, str):
        row = {**row, "headers": json.loads(headers or "{}") or {}}
    return row


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min ... capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


# ---- The rules as conditions (one place, shared by claim, sweep and retry) ------

EXPIRED_REASON = "Not sent: the deadline it was about had passed."


def held_reason(max_age: timedelta) -> str:
    """What an admin reads on a held message: why, and what they can do."""
    return f"Not sent: it waited more than {describe_age_limit(max_age)}. Send it anyway or discard it."


def describe_age_limit(max_age: timedelta) -> str:
    """ "24 hours", "1 hour"; a limit that is not whole hours: "1 hour 30 minutes"."""
    hours, rest = divmod(int(max_age.total_seconds()), 3600)
    if hours and not rest:
        return f"{hours} hour{'' if hours == 1 else 's'}"
    return describe_duration(max_age)


def _due(now: datetime):
    return (OutboxMessage.status == OutboxState.pending.value) & (
        OutboxMessage.next_attempt_at <= now
    )


def _stuck(now: datetime):
    return (OutboxMessage.status == OutboxState.sending.value) & (
        OutboxMessage.claimed_at < now - LEASE
    )


def _not_expired(now: datetime):
    return OutboxMessage.expires_at.is_null() | (OutboxMessage.expires_at > now)


def _expired(now: datetime):
    return OutboxMessage.expires_at.is_not_null() & (OutboxMessage.expires_at <= now)


def _young_or_released(now: datetime, max_age: timedelta):
    return OutboxMessage.released_at.is_not_null() | (OutboxMessage.created_at >= now - max_age)


def _too_old(now: datetime, max_age: timedelta):
    return OutboxMessage.released_at.is_null() & (OutboxMessage.created_at < now - max_age)


def _claimable(now: datetime, max_age: timedelta):
    return (_due(now) | _stuck(now)) & _not_expired(now) & _young_or_released(now, max_age)


def is_too_old(row: dict[str, Any], now: datetime, max_age: timedelta) -> bool:
    """The same rule as `_too_old`, for a row already read (pages, tests)."""
    return row.get("released_at") is None and ensure_aware_utc(row["created_at"]) < (
        ensure_aware_utc(now) - max_age
    )


def is_expired(row: dict[str, Any], now: datetime) -> bool:
    expires = row.get("expires_at")
    return expires is not None and ensure_aware_utc(expires) <= ensure_aware_utc(now)


# ---- Delivery -------------------------------------------------------------------


async def claim_message(message_id: int, now: datetime, *, max_age: timedelta) -> dict | None:
    """pending (or stuck sending) -> sending, in one conditional UPDATE.

    Returns the row if this caller won it; None if it was sent, failed, held,
    discarded, not yet due, past its `expires_at`, older than `max_age` (and not
    released by an admin), or another worker holds a live lease. This is what makes
    a duplicate broker message harmless and a late one silent.
    """
    now = ensure_aware_utc(now)
    rows = (
        await OutboxMessage.update(
            {
                OutboxMessage.status: OutboxState.sending.value,
                OutboxMessage.claimed_at: now,
                OutboxMessage.attempts: OutboxMessage.attempts + 1,
            }
        )
        .where((OutboxMessage.id == message_id) & _claimable(now, max_age))
        .returning(*OutboxMessage.all_columns())
    )
    return _decoded(rows[0]) if rows else None


async def mark_sent(message_id: int, now: datetime) -> None:
    await OutboxMessage.update(
        {
            OutboxMessage.status: OutboxState.sent.value,
            OutboxMessage.sent_at: ensure_aware_utc(now),
            OutboxMessage.last_error: "",
        }
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == OutboxState.sending.value))


async def mark_temporary_failure(
    message_id: int, attempts: int, error: str, now: datetime
) -> OutboxState:
    """Back to pending with a later attempt time, or failed once attempts run out."""
    now = ensure_aware_utc(now)
    state = OutboxState.failed if attempts >= MAX_ATTEMPTS else OutboxState.pending
    await OutboxMessage.update(
        {
            OutboxMessage.status: state.value,
            OutboxMessage.last_error: error[:2000],
            OutboxMessage.next_attempt_at: now + backoff(attempts),
            OutboxMessage.failed_at: now,
        }
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == OutboxState.sending.value))
    return state


async def mark_permanent_failure(message_id: int, error: str, now: datetime) -> None:
    await OutboxMessage.update(
        {
            OutboxMessage.status: OutboxState.failed.value,
            OutboxMessage.last_error: error[:2000],
            OutboxMessage.failed_at: ensure_aware_utc(now),
        }
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == OutboxState.sending.value))


async def settle_late_messages(now: datetime, *, max_age: timedelta) -> tuple[list[int], list[int]]:
    """The sweep's first step: discard expired rows and hold ones past the age limit.

    Returns (discarded ids, held ids). Each move is one conditional UPDATE, so a
    worker claiming the same row at the same moment either wins (and sends it,
    because it was still in time) or finds it moved. A row stuck in `sending` is
    included: it may or may not have gone out, and an admin decides.
    """
    now = ensure_aware_utc(now)
    live = (
        (OutboxMessage.status == OutboxState.pending.value)
        | (OutboxMessage.status == OutboxState.held.value)
        | _stuck(now)
    )
    discarded = (
        await OutboxMessage.update(
            {
                OutboxMessage.status: OutboxState.discarded.value,
                OutboxMessage.last_error: EXPIRED_REASON,
            }
        )
        .where(live & _expired(now))
        .returning(OutboxMessage.id)
    )

    waiting = (OutboxMessage.status == OutboxState.pending.value) | _stuck(now)
    late = waiting & _too_old(now, max_age) & _not_expired(now)
    reason = held_reason(max_age)
    # Keep the error that delayed it (if any): it helps decide whether to send anyway.
    held = (
        await OutboxMessage.update(
            {
                OutboxMessage.status: OutboxState.held.value,
                OutboxMessage.last_error: reason + " Before that: " + OutboxMessage.last_error,
            }
        )
        .where(late & (OutboxMessage.last_error != ""))
        .returning(OutboxMessage.id)
    )
    held += (
        await OutboxMessage.update(
            {OutboxMessage.status: OutboxState.held.value, OutboxMessage.last_error: reason}
        )
        .where(late & (OutboxMessage.last_error == ""))
        .returning(OutboxMessage.id)
    )
    return [r["id"] for r in discarded], sorted(r["id"] for r in held)


async def due_message_ids(
    now: datetime, *, max_age: timedelta, limit: int = SWEEP_BATCH
) -> list[int]:
    """Rows the sweep should (re-)drive: due pending ones and sending ones past the
    lease, that the claim would accept (in time, and young enough or released)."""
    now = ensure_aware_utc(now)
    rows = (
        await OutboxMessage.select(OutboxMessage.id)
        .where(_claimable(now, max_age))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [r["id"] for r in rows]


# ---- Admin decisions ------------------------------------------------------------

RETRYABLE = (OutboxState.failed.value, OutboxState.held.value)
DISCARDABLE = (OutboxState.pending.value, OutboxState.failed.value, OutboxState.held.value)


async def retry_message(message_id: int, actor: Actor, now: datetime) -> str:
    """An admin's decision to send a failed or held message: -> pending, due now.

    Returns the status it had ("failed" or "held").

    It also sets `released_at`: the admin chose to send it now, so the age limit no
    longer applies (a failed message retried days later would otherwise be held at
    once). Its `expires_at` still does. Attempts start again from zero, so the
    backoff and the attempt limit apply afresh; the audit event keeps how many
    attempts had been made.
    """
    row = await get_message(message_id)
    now = ensure_aware_utc(now)
    rows = (
        await OutboxMessage.update(
            {
                OutboxMessage.status: OutboxState.pending.value,
                OutboxMessage.next_attempt_at: now,
                OutboxMessage.attempts: 0,
                OutboxMessage.released_at: now,
            }
        )
        .where(
            (OutboxMessage.id == message_id)
            & OutboxMessage.status.is_in(list(RETRYABLE))
            & _not_expired(now)
        )
        .returning(OutboxMessage.id)
    )
    if not rows:
        if row["status"] in RETRYABLE and is_expired(row, now):
            raise Conflict(
                "This message can no longer be sent: the deadline it was about has passed. "
                "Discard it instead."
            )
        raise Conflict(
            f"Only a failed or held message can be sent again; this one is {row['status']}."
        )
    await record_event(
        actor,
        "outbox.released" if row["status"] == OutboxState.held.value else "outbox.retried",
        "outbox_message",
        message_id,
        now,
        round_id=row["round"],
        detail={
            "kind": row["kind"],
            "recipient": row["recipient"],
            "previous_status": row["status"],
            "attempts": row["attempts"],
            "last_error": row["last_error"][:200],
        },
    )
    return row["status"]


async def discard_message(message_id: int, actor: Actor, now: datetime) -> None:
    """pending, failed or held -> discarded. A message already being sent cannot be stopped."""
    row = await get_message(message_id)
    now = ensure_aware_utc(now)
    rows = (
        await OutboxMessage.update({OutboxMessage.status: OutboxState.discarded.value})
        .where((OutboxMessage.id == message_id) & OutboxMessage.status.is_in(list(DISCARDABLE)))
        .returning(OutboxMessage.id)
    )
    if not rows:
        raise Conflict(
            f"Only a pending, failed or held message can be discarded; this one is {row['status']}."
        )
    await record_event(
        actor,
        "outbox.discarded",
        "outbox_message",
        message_id,
        now,
        round_id=row["round"],
        detail={
            "kind": row["kind"],
            "recipient": row["recipient"],
            "previous_status": row["status"],
        },
    )


async def get_message(message_id: int) -> dict[str, Any]:
    missing = "There is no outbox message with that number."
    ensure_record_id(message_id, missing)
    row = await OutboxMessage.select().where(OutboxMessage.id == message_id).first()
    if row is None:
        raise NotFound(missing)
    return _decoded(row)
