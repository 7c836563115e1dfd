"""Mail to send (the outbox) and the reminders that queued some of it."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.tables.accounts import User
from portal.tables.seats import Round


class OutboxMessage(Table):
    """A mail to send. Written in the same transaction as the change that caused it."""

    kind = Varchar(length=40, index=True)
    dedupe_key = Varchar(length=200, unique=True)
    recipient = Varchar(length=254)
    subject = Varchar(length=300)
    body_text = Text()
    body_html = Text(default="")
    headers = JSON(default="{}")
    status = Varchar(length=10, default="pending", index=True)
    attempts = Integer(default=0)
    last_error = Text(default="")
    round = ForeignKey(references=Round, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    claimed_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    # Issue 4. Not sent after `expires_at` (a reminder whose deadline has passed);
    # `failed_at` is the latest failed attempt (queue health); `released_at` is an
    # admin's decision to send a message held for being older than the age limit.
    expires_at = Timestamptz(null=True, default=None)
    failed_at = Timestamptz(null=True, default=None, index=True)
    released_at = Timestamptz(null=True, default=None)


class Reminder(Table):
    """A reminder that fell due and was queued (or skipped). Unique on
    (kind, round, recipient, offset_minutes): a raw index, so two schedulers, a
    retried tick or concurrent workers can never create the same reminder twice."""

    kind = Varchar(length=30)  # draft_due / draft_closed / scoring_due
    round = ForeignKey(references=Round, null=False, on_delete=OnDelete.cascade, index=True)
    recipient = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    offset_minutes = Integer(default=0)  # before the deadline; 0 for "closed" notices
    due_at = Timestamptz()
    created_at = Timestamptz(default=TimestamptzNow())
    outbox = ForeignKey(references=OutboxMessage, null=True, on_delete=OnDelete.set_null)
