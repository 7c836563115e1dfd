"""Outbox actors: deliver one message by id, and the sweep that re-drives due rows.

Actors take ids only and delegate to `portal.mail.send`; they are safe to run twice.
`notify_shutdown`: a stopping worker interrupts them after its grace period
(workers/shutdown.py); an interrupted delivery puts its row back to pending.
"""

from __future__ import annotations

import dramatiq

from portal.mail import send
from workers import broker as _broker  # noqa: F401  (the broker is set before any actor)
from workers import context


@dramatiq.actor(queue_name="mail", max_retries=3, time_limit=120_000, notify_shutdown=True)
async def deliver_message(message_id: int) -> None:
    await send.deliver_outbox_message(message_id, context.settings())


@dramatiq.actor(queue_name="mail", max_retries=0, time_limit=60_000, notify_shutdown=True)
async def sweep_outbox() -> None:
    """Discard expired rows, hold ones past the age limit, then re-drive the rest."""
    for message_id in await send.sweep(context.settings()):
        deliver_message.send(message_id)
