"""The outbox: every mail is first a row written in the caller's transaction.

The broker only ever carries a row id. A delivery claims the row (pending ->
sending) in one conditional UPDATE, so a second delivery of the same id finds
nothing to claim and sends nothing; the dedupe key makes "the same mail twice"
impossible to even write. Rows stuck in `sending` past the lease are re-driven by
the sweep.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.domain.timerules import ensure_aware_utc
from portal.tables import OutboxMessage

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


class OutboxState(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


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


async def enqueue_mail(mail: Mail, now: datetime) -> int | None:
    """Write the mail; returns its id, or None if a mail with that dedupe key exists."""
    existing = await OutboxMessage.select(OutboxMessage.id).where(
        OutboxMessage.dedupe_key == mail.dedupe_key
    ).first()
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
        )
    ).returning(OutboxMessage.id)
    return rows[0]["id"]


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min ... capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def _claimable(now: datetime):
    due = (OutboxMessage.status == OutboxState.pending.value) & (OutboxMessage.next_attempt_at <= now)
    stuck = (OutboxMessage.status == OutboxState.sending.value) & (OutboxMessage.claimed_at < now - LEASE)
    return due | stuck


async def claim_message(message_id: int, now: datetime) -> dict | None:
    """pending (or stuck sending) -> sending, in one conditional UPDATE.

    Returns the row if this caller won it; None if it was sent, failed, not yet due,
    or another worker holds a live lease. This is what makes a duplicate broker
    message harmless.
    """
    now = ensure_aware_utc(now)
    rows = await OutboxMessage.update(
        {
            OutboxMessage.status: OutboxState.sending.value,
            OutboxMessage.claimed_at: now,
            OutboxMessage.attempts: OutboxMessage.attempts + 1,
        }
    ).where((OutboxMessage.id == message_id) & _claimable(now)).returning(*OutboxMessage.all_columns())
    return rows[0] if rows else None


async def mark_sent(message_id: int, now: datetime) -> None:
    await OutboxMessage.update(
        {OutboxMessage.status: OutboxState.sent.value, OutboxMessage.sent_at: ensure_aware_utc(now), OutboxMessage.last_error: ""}
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == OutboxState.sending.value))


async def mark_temporary_failure(message_id: int, attempts: int, error: str, now: datetime) -> OutboxState:
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
    rows = await OutboxMessage.select(OutboxMessage.id).where(_claimable(ensure_aware_utc(now))).order_by(
        OutboxMessage.id
    ).limit(limit)
    return [r["id"] for r in rows]


async def retry_message(message_id: int, now: datetime) -> bool:
    """An admin's decision to try a failed message again."""
    rows = await OutboxMessage.update(
        {OutboxMessage.status: OutboxState.pending.value, OutboxMessage.next_attempt_at: ensure_aware_utc(now)}
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == OutboxState.failed.value)).returning(OutboxMessage.id)
    return bool(rows)
