"""The outbox: every mail is first a row written in the caller's transaction.

The broker only ever carries a row id. The dedupe key (unique, naming the mail's
purpose) makes "the same mail twice" impossible to even write: a second enqueue of
the same key writes nothing.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.errors import NotFound, ensure_record_id
from portal.domain.timerules import ensure_aware_utc
from portal.tables import OutboxMessage

INSERT_CHUNK = 500  # rows per INSERT in enqueue_mails


class OutboxState(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    # Waited longer than the age limit: not sent late unless an admin releases it.
    held = "held"
    # Never to be sent: an admin's decision (a failed one not worth retrying, or a
    # pending one written by mistake), or the message's own deadline passed. Final.
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


def _row(mail: Mail, now: datetime) -> OutboxMessage:
    return OutboxMessage(
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


async def enqueue_mail(mail: Mail, now: datetime) -> int | None:
    """Write the mail; returns its id, or None if a mail with that dedupe key exists."""
    written = await enqueue_mails([mail], now)
    return written.get(mail.dedupe_key)


async def enqueue_mails(mails: list[Mail], now: datetime) -> dict[str, int]:
    """Write many mails in one INSERT; returns dedupe key -> id for the rows written.

    A dedupe key already in the outbox writes nothing (ON CONFLICT DO NOTHING against
    its unique index), so a retried or concurrent caller never queues a mail twice.
    """
    now = ensure_aware_utc(now)
    written: dict[str, int] = {}
    # In chunks: SQLite caps the parameters of one statement (13 columns a row).
    for start in range(0, len(mails), INSERT_CHUNK):
        rows = (
            await OutboxMessage.insert(
                *[_row(mail, now) for mail in mails[start : start + INSERT_CHUNK]]
            )
            .on_conflict(action="DO NOTHING")
            .returning(OutboxMessage.id, OutboxMessage.dedupe_key)
        )
        written.update({r["dedupe_key"]: r["id"] for r in rows})
    return written


def decoded(row: dict[str, Any]) -> dict[str, Any]:
    """Piccolo hands JSON columns back as text; callers want the headers as a dict."""
    headers = row.get("headers")
    if isinstance(headers, str):
        row = {**row, "headers": json.loads(headers or "{}") or {}}
    return row


async def get_message(message_id: int) -> dict[str, Any]:
    missing = "There is no outbox message with that number."
    ensure_record_id(message_id, missing)
    row = await OutboxMessage.select().where(OutboxMessage.id == message_id).first()
    if row is None:
        raise NotFound(missing)
    return decoded(row)
