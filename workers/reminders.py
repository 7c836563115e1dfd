"""The reminder planner: turns reminders that have fallen due into outbox mails.

The scheduler enqueues it every `PORTAL_REMINDER_SECONDS`. Each pass plans a batch in its
own write transaction and dispatches the mails after that commits, so a worker killed
half-way loses nothing and repeats nothing: the reminder rows are the record, unique on
(kind, round, recipient, offset). Safe to run twice, or twice at once, and to interrupt
(`notify_shutdown`: a stopping worker does, after its grace; the batch rolls back).
"""

from __future__ import annotations

import logging

import dramatiq

from portal.db import database_now
from portal.domain.reminders.planner import plan_due_reminders
from portal.mail.compose.reminders import compose_reminder
from workers import broker as _broker  # noqa: F401  (the broker is set before any actor)
from workers import context
from workers.dispatch import write_then_send

log = logging.getLogger("portal.workers.reminders")

BATCH = 500
MAX_BATCHES = 1_000  # a bound on one run; the next tick carries on


@dramatiq.actor(queue_name="mail", max_retries=3, time_limit=300_000, notify_shutdown=True)
async def plan_reminders() -> None:
    compose = compose_reminder(context.settings())
    total = 0
    for _ in range(MAX_BATCHES):
        async with write_then_send() as mail:
            # The database's clock, read in this transaction: a worker host whose clock
            # is out cannot bring a reminder forward or hold it back.
            ids = await plan_due_reminders(await database_now(), compose, limit=BATCH)
            mail.send(ids)
        total += len(ids)
        if not ids:
            break
    if total:
        log.info("planned %s reminder mails", total)
