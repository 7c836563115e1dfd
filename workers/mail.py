"""Outbox actors: deliver one message by id, and the sweep that re-drives due rows.

Actors take ids only, load, delegate, and are safe to run twice: a second delivery
of the same id finds the row already claimed or sent and sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import dramatiq

from portal.domain import outbox
from portal.domain.timerules import utcnow
from workers import broker as _broker  # noqa: F401  (the broker is set before any actor)
from workers import context
from workers.transport import PermanentFailure, TemporaryFailure, deliver

log = logging.getLogger("portal.workers.mail")


@dramatiq.actor(queue_name="mail", max_retries=3, time_limit=120_000)
async def deliver_message(message_id: int) -> None:
    row = await outbox.claim_message(message_id, utcnow())
    if row is None:
        return  # already sent, failed, not yet due, or another worker holds it
    try:
        await deliver(row, context.settings())
    except TemporaryFailure as exc:
        state = await outbox.mark_temporary_failure(message_id, row["attempts"], str(exc), utcnow())
        log.warning("outbox %s: temporary failure (%s), now %s", message_id, exc, state)
        return
    except PermanentFailure as exc:
        await outbox.mark_permanent_failure(message_id, str(exc), utcnow())
        log.error("outbox %s: permanent failure: %s", message_id, exc)
        return
    except Exception as exc:
        # A bug or a broken row (say, a header the mail library refuses). Record it and
        # back off like a temporary failure, so it ends as "failed" with the reason
        # shown, instead of sitting in "sending" and being re-driven every lease.
        log.exception("outbox %s: unexpected error while sending", message_id)
        await outbox.mark_temporary_failure(
            message_id, row["attempts"], f"{type(exc).__name__}: {exc}"[:1000], utcnow()
        )
        return
    # The one window for a duplicate: the server accepted the mail but this UPDATE
    # did not commit (the process died, or the database refused it). The row stays
    # "sending" and the sweep sends it again once the lease (outbox.LEASE) runs out;
    # the Message-ID is the same, so the receiving side can tell.
    await outbox.mark_sent(message_id, utcnow())


@dramatiq.actor(queue_name="mail", max_retries=0, time_limit=60_000)
async def sweep_outbox() -> None:
    for message_id in await outbox.due_message_ids(utcnow()):
        deliver_message.send(message_id)


def dispatch(message_ids: Iterable[int | None]) -> None:
    """Send ids to the broker. Call only after the transaction that wrote them commits.

    If the broker is down the rows are still in the database; the sweep finds them.
    """
    for message_id in message_ids:
        if message_id is None:
            continue
        try:
            deliver_message.send(message_id)
        except Exception:  # noqa: BLE001 - any broker error: the sweep re-drives the row
            log.warning(
                "broker unavailable; outbox %s left for the sweep", message_id, exc_info=True
            )
