"""An admin's decisions on a message: send a failed or held one again, or discard one."""

from __future__ import annotations

from datetime import datetime

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict
from portal.domain.outbox.delivery import is_expired, not_expired
from portal.domain.outbox.messages import OutboxState, get_message
from portal.domain.timerules import ensure_aware_utc
from portal.tables import OutboxMessage

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
            & not_expired(now)
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
