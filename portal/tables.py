"""Piccolo tables. Slim on purpose: rules live in `portal.domain`.

Every datetime is an aware UTC instant (`Timestamptz`). Foreign keys state their
nullability and delete rule explicitly (Piccolo's default is nullable + cascade).
Composite unique constraints are raw `CREATE UNIQUE INDEX` migrations, because
Piccolo's `Unique([...])` fails on SQLite.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="portal_user"):
    email = Varchar(length=254, unique=True, index=True)
    name = Varchar(length=200)
    password_hash = Varchar(length=255, null=True, default=None)
    role = Varchar(length=20, default="admin", index=True)
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_sign_in_at = Timestamptz(null=True, default=None)


class Invitation(Table):
    """A single-use, expiring link to set a password (only its hash is stored)."""

    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True)
    invited_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class ApiToken(Table):
    """An admin API token; only a SHA-256 of the secret is stored."""

    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    name = Varchar(length=100)
    prefix = Varchar(length=12)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class Seat(Table):
    slug = Varchar(length=120, unique=True, index=True)
    title = Varchar(length=200)
    summary = Text(default="")
    description = Text(default="")
    eligibility = Text(default="")
    represents = Text(default="")
    time_commitment = Text(default="")
    remuneration = Text(default="")
    location = Text(default="")
    how_to_apply = Text(default="")
    published = Boolean(default=False, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Criterion(Table):
    seat = ForeignKey(references=Seat, null=False, on_delete=OnDelete.cascade)
    position = Integer(default=0)
    title = Varchar(length=200)
    guidance = Text(default="")
    weight = Integer(default=1)


class Question(Table):
    seat = ForeignKey(references=Seat, null=False, on_delete=OnDelete.cascade)
    position = Integer(default=0)
    prompt = Text()
    word_limit = Integer(default=300)
    required = Boolean(default=True)


class Round(Table, tablename="seat_round"):
    """One recruitment round of a seat. Open-ness is computed from the times."""

    seat = ForeignKey(references=Seat, null=False, on_delete=OnDelete.cascade)
    timezone = Varchar(length=64, default="Europe/London")
    opens_at = Timestamptz()
    closes_at = Timestamptz()
    grace_minutes = Integer(default=10)
    nomination_required = Boolean(default=False)
    anonymised = Boolean(default=True)
    scoring_deadline = Timestamptz(null=True, default=None)
    # Stages after closing only; "upcoming/open/closed" are derived from the clock.
    stage = Varchar(length=20, default="collecting", index=True)
    stage_changed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class DeadlineExtension(Table):
    """A later closing time, for the whole round or (applicant set) for one person."""

    round = ForeignKey(references=Round, null=False, on_delete=OnDelete.cascade)
    applicant = ForeignKey(references=User, null=True, on_delete=OnDelete.cascade)
    previous_closes_at = Timestamptz()
    closes_at = Timestamptz()
    reason = Text()
    granted_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class AuditEvent(Table):
    """Append-only: who did what to which record, when."""

    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    actor_label = Varchar(length=254, default="system")
    action = Varchar(length=64, index=True)
    subject_type = Varchar(length=32)
    subject_id = Integer(null=True, default=None)
    round = ForeignKey(references=Round, null=True, on_delete=OnDelete.set_null, index=True)
    detail = JSON(default="{}")


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


ALL_TABLES: list[type[Table]] = [
    User,
    Invitation,
    ApiToken,
    Seat,
    Criterion,
    Question,
    Round,
    DeadlineExtension,
    AuditEvent,
    OutboxMessage,
]
