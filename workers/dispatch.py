"""Handing outbox ids to the broker, only after the transaction that wrote them commits.

A worker handed an id before the commit would find no row (or an old one). If the
broker is down when the ids are sent, the rows are still in the database and the
sweep finds them, so a failed send here loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from portal.db import write_transaction
from workers.mail import deliver_message

log = logging.getLogger("portal.workers.dispatch")


def dispatch(message_ids: Iterable[int | None]) -> None:
    """Send ids to the broker. Call only after the transaction that wrote them commits."""
    for message_id in message_ids:
        if message_id is None:
            continue
        try:
            deliver_message.send(message_id)
        except Exception:  # noqa: BLE001 - any broker error: the sweep re-drives the row
            log.warning(
                "broker unavailable; outbox %s left for the sweep", message_id, exc_info=True
            )


class MailAfterCommit:
    """The outbox ids a write queued, to be dispatched once it has committed."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def send(self, message_ids: Iterable[int | None] | int | None) -> None:
        if isinstance(message_ids, int):
            message_ids = [message_ids]
        self.ids.extend(i for i in message_ids or () if i is not None)


@asynccontextmanager
async def write_then_send() -> AsyncIterator[MailAfterCommit]:
    """A write transaction whose mail goes to the broker after it commits, never before:

        async with write_then_send() as mail:
            mail.send(await extend_round(...))

    If the block raises, the transaction rolls back and nothing is dispatched.
    """
    mail = MailAfterCommit()
    async with write_transaction():
        yield mail
    dispatch(mail.ids)
