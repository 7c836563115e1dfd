"""Outbox actors: deliver one message by id, and the sweep that re-drives due rows.

Actors take ids only, load, delegate, and are safe to run twice: a second delivery
of the same id finds the row already claimed or sent and sends nothing. The age
limit comes from the settings (`PORTAL_MAIL_MAX_AGE_HOURS`) and is handed to the
domain, which reads none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

import dramatiq

from portal.domain.outbox import delivery
from portal.domain.timerules import utcnow
from workers import broker as _broker  # noqa: F401  (the broker is set before any actor)
from workers import context
from workers.transport import PermanentFailure, TemporaryFailure, deliver

log = logging.getLogger("portal.workers.mail")


def max_age() -> timedelta:
    """How old a message may be and still go out without an admin's say-so."""
    return timedelta(hours=context.settings().mail_max_age_hours)


@dramatiq.actor(queue_name="mail", max_retries=3, time_limit=120_000)
async def deliver_message(message_id: int) -> None:
    row = await delivery.claim_message(message_id, utcnow(), max_age=max_age())
    if row is None:
        # Already sent, failed, held or discarded, not yet due, another worker holds
        # it, or too late (past its expiry or the age limit: the sweep moves it).
        return
    try:
        await deliver(row, context.settings())
    except TemporaryFailure as exc:
        state = await delivery.mark_temporary_failure(
            message_id, row["attempts"], str(exc), utcnow()
        )
        log.warning("outbox %s: temporary failure (%s), now %s", message_id, exc, state)
        return
    except PermanentFailure as exc:
        await delivery.mark_permanent_failure(message_id, str(exc), utcnow())
        log.error("outbox %s: permanent failure: %s", message_id, exc)
        return
    except Exception as exc:
        # A bug or a broken row (say, a header the mail library refuses). Record it and
        # back off like a temporary failure, so it ends as "failed" with the reason
        # shown, instead of sitting in "sending" and being re-driven every lease.
        log.exception("outbox %s: unexpected error while sending", message_id)
        await delivery.mark_temporary_failure(
            message_id, row["attempts"], f"{type(exc).__name__}: {exc}"[:1000], utcnow()
        )
        return
    # The one window for a duplicate: the server accepted the mail but this UPDATE
    # did not commit (the process died, or the database refused it). The row stays
    # "sending" and the sweep sends it again once the lease (delivery.LEASE) runs out;
    # the Message-ID is the same, so the receiving side can tell. (Past the age limit
    # or its expiry, the sweep holds or discards it instead of sending it again.)
    await delivery.mark_sent(message_id, utcnow())


@dramatiq.actor(queue_name="mail", max_retries=0, time_limit=60_000)
async def sweep_outbox() -> None:
    """Discard expired rows, hold ones past the age limit, then re-drive the rest."""
    limit = max_age()
    discarded, held = await delivery.settle_late_messages(utcnow(), max_age=limit)
    if discarded:
        log.info("outbox: discarded %d message(s) past their expiry: %s", len(discarded), discarded)
    if held:
        log.warning("outbox: held %d message(s) older than %s: %s", len(held), limit, held)
    for message_id in await delivery.due_message_ids(utcnow(), max_age=limit):
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
