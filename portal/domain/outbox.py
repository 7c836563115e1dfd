"""The outbox: every mail is first a row written in the caller's transaction.

The broker only ever carries a row id. A delivery claims the row (pending ->
sending) in one conditional UPDATE, so a second delivery of the same id finds
nothing to claim and sends nothing; the dedupe key makes "the same mail twice"
impossible to even write. Rows stuck in `sending` past the lease are re-driven by
the sweep.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, NotFound
from portal.domain.timerules import ensure_aware_utc
from portal.tables import OutboxMessage

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


class OutboxState(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    # An admin decided this mail must not go out (a failed one not worth retrying,
    # or a pending one written by mistake). Final, like sent.
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


async def enqueue_mail(mail: Mail, now: datetime) -> int | None:
    """Write the mail; returns its id, or None if a mail with that dedupe key exists."""
    existing = (
        await OutboxMessage.select(OutboxMessage.id)
        .where(OutboxMessage.dedupe_key == mail.dedupe_key)
        .first()
    )
    if existing:
        return None
    now = ensure_aware_utc(now)
    rows = await OutboxMessage.insert(
        OutboxMessage(
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
    ).returning(OutboxMessage.id)
    return rows[0]["id"]


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """Piccolo hands JSON columns back as text; callers want the headers as a dict."""
    headers = row.get("headers")
    if isinstance(headers, str):
        row = {**row, "headers": json.loads(headers or "{}") or {}}
    return row


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min ... capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def _claimable(now: datetime):
    due = (OutboxMessage.status == OutboxState.pending.value) & (
        OutboxMessage.next_attempt_at <= now
    )
    stuck = (OutboxMessage.status == OutboxState.sending.value) & (
        OutboxMessage.claimed_at < now - LEASE
    )
    return due | stuck


async def claim_message(message_id: int, now: datetime) -> dict | None:
    """pending (or stuck sending) -> sending, in one conditional UPDATE.

    Returns the row if this caller won it; None if it was sent, failed, not yet due,
    or another worker holds a live lease. This is what makes a duplicate broker
    message harmless.
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
        .where((OutboxMessage.id == message_id) & _claimable(now))
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
    state = OutboxState.failed if attempts >= MAX_ATTEMPTS else OutboxState.pending
    await OutboxMessage.update(
        {
            OutboxMessage.status: state.value,
            OutboxMessage.last_error: error[:2000],
            OutboxMessage.next_attempt_at: ensure_aware_utc(now) + backoff(attempts),
        }
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == OutboxState.sending.value))
    return state


async def mark_permanent_failure(message_id: int, error: str, now: datetime) -> None:
    await OutboxMessage.update(
        {OutboxMessage.status: OutboxState.failed.value, OutboxMessage.last_error: error[:2000]}
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == OutboxState.sending.value))


async def due_message_ids(now: datetime, limit: int = 500) -> list[int]:
    """Rows the sweep should (re-)drive: due pending ones and sending ones past the lease."""
    rows = (
        await OutboxMessage.select(OutboxMessage.id)
        .where(_claimable(ensure_aware_utc(now)))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [r["id"] for r in rows]


async def retry_message(message_id: int, actor: Actor, now: datetime) -> None:
    """An admin's decision to try a failed message again: failed -> pending, due now.

    Attempts start again from zero, so the backoff and the attempt limit apply
    afresh; the audit event keeps how many attempts had been made.
    """
    row = await get_message(message_id)
    now = ensure_aware_utc(now)
    rows = (
        await OutboxMessage.update(
            {
                OutboxMessage.status: OutboxState.pending.value,
                OutboxMessage.next_attempt_at: now,
                OutboxMessage.attempts: 0,
            }
        )
        .where(
            (OutboxMessage.id == message_id) & (OutboxMessage.status == OutboxState.failed.value)
        )
        .returning(OutboxMessage.id)
    )
    if not rows:
        raise Conflict(f"Only a failed message can be retried; this one is {row['status']}.")
    await record_event(
        actor,
        "outbox.retried",
        "outbox_message",
        message_id,
        now,
        round_id=row["round"],
        detail={
            "kind": row["kind"],
            "recipient": row["recipient"],
            "attempts": row["attempts"],
            "last_error": row["last_error"][:200],
        },
    )


DISCARDABLE = (OutboxState.pending.value, OutboxState.failed.value)


async def discard_message(message_id: int, actor: Actor, now: datetime) -> None:
    """pending or failed -> discarded. A message already being sent cannot be stopped."""
    row = await get_message(message_id)
    now = ensure_aware_utc(now)
    rows = (
        await OutboxMessage.update({OutboxMessage.status: OutboxState.discarded.value})
        .where((OutboxMessage.id == message_id) & OutboxMessage.status.is_in(list(DISCARDABLE)))
        .returning(OutboxMessage.id)
    )
    if not rows:
        raise Conflict(
            f"Only a pending or failed message can be discarded; this one is {row['status']}."
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


# Reads for the outbox page.

PAGE_SIZE = 50
_MAX_ID = 2**63 - 1  # larger ids cannot exist, and SQLite refuses to even compare them


async def get_message(message_id: int) -> dict[str, Any]:
    row = None
    if 0 < message_id <= _MAX_ID:
        row = await OutboxMessage.select().where(OutboxMessage.id == message_id).first()
    if row is None:
        raise NotFound("There is no outbox message with that number.")
    return _decoded(row)


async def count_by_status() -> dict[str, int]:
    """Every state with its count (zero included), in the enum's order."""
    rows = await OutboxMessage.select(
        OutboxMessage.status, Count(OutboxMessage.id, alias="n")
    ).group_by(OutboxMessage.status)
    found = {r["status"]: r["n"] for r in rows}
    return {state.value: found.get(state.value, 0) for state in OutboxState}


async def message_kinds() -> list[str]:
    rows = await OutboxMessage.select(OutboxMessage.kind).distinct().order_by(OutboxMessage.kind)
    return [r["kind"] for r in rows]


async def list_messages(
    *, status: str | None = None, kind: str | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int]:
    """One page of messages, newest first, and how many match in all."""
    condition = OutboxMessage.id > 0
    if status:
        condition &= OutboxMessage.status == status
    if kind:
        condition &= OutboxMessage.kind == kind
    total = await OutboxMessage.count().where(condition)
    rows = (
        await OutboxMessage.select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.recipient,
            OutboxMessage.subject,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
            OutboxMessage.next_attempt_at,
            OutboxMessage.claimed_at,
        )
        .where(condition)
        .order_by(OutboxMessage.created_at, ascending=False)
        .order_by(OutboxMessage.id, ascending=False)
        .limit(page_size)
        .offset((max(page, 1) - 1) * page_size)
    )
    return rows, total
