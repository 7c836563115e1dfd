"""Delivering outbox rows: claiming one, marking it sent or failed, and the sweep's reads.

A delivery claims the row (pending -> sending) in one conditional UPDATE, so a
second delivery of the same id finds nothing to claim and sends nothing. Rows stuck
in `sending` past the lease are re-driven by the sweep.

Late mail is worse than no mail: a message older than the age limit (the caller
passes it; the domain reads no settings) is not claimed but `held` for an admin to
send anyway or discard, and a message past its own `expires_at` (a reminder about
a deadline that has gone) is never sent and is discarded by the sweep.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from portal.domain.outbox.messages import OutboxState, decoded
from portal.domain.timerules import describe_duration, ensure_aware_utc
from portal.tables import OutboxMessage

LEASE = timedelta(minutes=5)


MAX_ATTEMPTS = 8


SWEEP_BATCH = 500


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min ... capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


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


def not_expired(now: datetime):
    return OutboxMessage.expires_at.is_null() | (OutboxMessage.expires_at > now)


def _expired(now: datetime):
    return OutboxMessage.expires_at.is_not_null() & (OutboxMessage.expires_at <= now)


def _young_or_released(now: datetime, max_age: timedelta):
    return OutboxMessage.released_at.is_not_null() | (OutboxMessage.created_at >= now - max_age)


def _too_old(now: datetime, max_age: timedelta):
    return OutboxMessage.released_at.is_null() & (OutboxMessage.created_at < now - max_age)


def _claimable(now: datetime, max_age: timedelta):
    return (_due(now) | _stuck(now)) & not_expired(now) & _young_or_released(now, max_age)


def is_too_old(row: dict[str, Any], now: datetime, max_age: timedelta) -> bool:
    """The same rule as `_too_old`, for a row already read (pages, tests)."""
    return row.get("released_at") is None and ensure_aware_utc(row["created_at"]) < (
        ensure_aware_utc(now) - max_age
    )


def is_expired(row: dict[str, Any], now: datetime) -> bool:
    expires = row.get("expires_at")
    return expires is not None and ensure_aware_utc(expires) <= ensure_aware_utc(now)


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
    return decoded(rows[0]) if rows else None


async def mark_sent(message_id: int, now: datetime) -> None:
    await OutboxMessage.update(
        {
            OutboxMessage.status: OutboxState.sent.value,
            OutboxMessage.sent_at: ensure_aware_utc(now),
            OutboxMessage.last_error: "",
        }
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == OutboxState.sending.value))


INTERRUPTED_REASON = (
    "Interrupted before the mail server confirmed it (the worker was stopping); "
    "sent again with the same Message-ID."
)


async def requeue_interrupted(message_id: int, attempts: int, now: datetime) -> bool:
    """sending -> pending, due at `now`: a delivery that was stopped before it finished.

    A worker that is shutting down interrupts the sends still running after its grace
    period; their rows come back here so the next worker (or the sweep) sends them at
    once, instead of leaving them in `sending` until the lease runs out. The server may
    already have taken the mail (the reply was not read yet): sending it again is the
    documented duplicate window, and safe only because the Message-ID comes from the
    dedupe key, so a row without one is left for the lease.

    Only the caller's own claim moves: `attempts` is the count its claim returned, and
    a later claim by another worker (after the lease) has a higher one. Not counted as
    a failure (no backoff, `failed_at` untouched). Returns whether the row moved.
    """
    rows = (
        await OutboxMessage.update(
            {
                OutboxMessage.status: OutboxState.pending.value,
                OutboxMessage.next_attempt_at: ensure_aware_utc(now),
                OutboxMessage.last_error: INTERRUPTED_REASON,
            }
        )
        .where(
            (OutboxMessage.id == message_id)
            & (OutboxMessage.status == OutboxState.sending.value)
            & (OutboxMessage.attempts == attempts)
            & (OutboxMessage.dedupe_key != "")
        )
        .returning(OutboxMessage.id)
    )
    return bool(rows)


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
    late = waiting & _too_old(now, max_age) & not_expired(now)
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
