"""What a worker does with an outbox id, and the sweep: the outbox's delivery side.

`deliver_outbox_message` claims the row, hands it to SMTP (or the local mailbox) and
records the result; it is safe to run twice, because a second delivery of the same id
finds the row already claimed or sent and sends nothing. `sweep` settles late rows and
returns the ids that are due, for the caller to hand to the broker.

The age limit comes from the settings (`PORTAL_MAIL_MAX_AGE_HOURS`) and is handed to
the domain, which reads none. `now` is the database's clock (`portal.db.database_now`),
read afresh at each step, so the claim, the lease, the backoff and holding late mail
never depend on the worker host's clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from portal.db import database_now
from portal.domain.outbox import delivery
from portal.mail.smtp import PermanentFailure, TemporaryFailure, deliver
from portal.settings import Settings

log = logging.getLogger("portal.mail.send")

Clock = Callable[[], Awaitable[datetime]]


def max_age(settings: Settings) -> timedelta:
    """How old a message may be and still go out without an admin's say-so."""
    return timedelta(hours=settings.mail_max_age_hours)


async def deliver_outbox_message(
    message_id: int, settings: Settings, now: Clock = database_now
) -> str:
    """Send one outbox row; returns what became of it ("sent", "skipped", or its new state)."""
    row = await delivery.claim_message(message_id, await now(), max_age=max_age(settings))
    if row is None:
        # Already sent, failed, held or discarded, not yet due, another worker holds
        # it, or too late (past its expiry or the age limit: the sweep moves it).
        return "skipped"
    try:
        await deliver(row, settings)
    except asyncio.CancelledError:
        # Interrupted before the server's reply: the worker is stopping and this send
        # outlasted its grace (workers/shutdown.py), or the actor's time limit ran out.
        # Back to pending, due now, so the next worker or sweep sends it at once rather
        # than after the lease. The server may have taken it already: the copy it gets
        # again carries the same Message-ID (the duplicate window described below).
        if await delivery.requeue_interrupted(message_id, row["attempts"], await now()):
            log.warning("outbox %s: interrupted mid-send; back to pending", message_id)
        raise
    except TemporaryFailure as exc:
        state = await delivery.mark_temporary_failure(
            message_id, row["attempts"], str(exc), await now()
        )
        log.warning("outbox %s: temporary failure (%s), now %s", message_id, exc, state)
        return state
    except PermanentFailure as exc:
        await delivery.mark_permanent_failure(message_id, str(exc), await now())
        log.error("outbox %s: permanent failure: %s", message_id, exc)
        return "failed"
    except Exception as exc:
        # A bug or a broken row (say, a header the mail library refuses). Record it and
        # back off like a temporary failure, so it ends as "failed" with the reason
        # shown, instead of sitting in "sending" and being re-driven every lease.
        log.exception("outbox %s: unexpected error while sending", message_id)
        return await delivery.mark_temporary_failure(
            message_id, row["attempts"], f"{type(exc).__name__}: {exc}"[:1000], await now()
        )
    # The one window for a duplicate: the server accepted the mail but this UPDATE
    # did not commit (the process died, or the database refused it). The row stays
    # "sending" and the sweep sends it again once the lease (delivery.LEASE) runs out;
    # the Message-ID is the same, so the receiving side can tell. (Past the age limit
    # or its expiry, the sweep holds or discards it instead of sending it again.)
    # Shielded: once the server has said 250, a cancellation arriving now must not stop
    # the row being marked sent (it would be sent again after the lease).
    await asyncio.shield(_mark_sent(message_id, now))
    return "sent"


async def _mark_sent(message_id: int, now: Clock) -> None:
    """Read the clock and record the send as one shielded step."""
    await delivery.mark_sent(message_id, await now())


async def sweep(settings: Settings, now: Clock = database_now) -> list[int]:
    """Discard expired rows, hold ones past the age limit; return the ids due for sending."""
    limit = max_age(settings)
    discarded, held = await delivery.settle_late_messages(await now(), max_age=limit)
    if discarded:
        log.info("outbox: discarded %d message(s) past their expiry: %s", len(discarded), discarded)
    if held:
        log.warning("outbox: held %d message(s) older than %s: %s", len(held), limit, held)
    return await delivery.due_message_ids(await now(), max_age=limit)
