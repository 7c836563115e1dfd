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
    Bytea,
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
    # Applicant profile (issue 3).
    organisation = Varchar(length=200, default="")
    job_title = Varchar(length=200, default="")
    phone = Varchar(length=40, default="")
    # A reasonable-adjustment request: for admins only, never for panels. `secret`
    # keeps it out of `select(exclude_secrets=True)`; read it only by naming it.
    adjustments = Text(default="", secret=True)
    email_verified_at = Timestamptz(null=True, default=None)


class Invitation(Table):
    """A single-use, expiring link to set a password (only its hash is stored)."""

    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True)
    invited_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class AccountToken(Table):
    """A single-use, expiring link for an applicant: verify, sign in or reset.

    Only hashes are stored. A sign-in link also stores the hash of a nonce kept in
    the browser that asked for it, so a forwarded link signs nobody else in.
    """

    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=10)  # verify / sign_in / reset
    token_hash = Varchar(length=64, unique=True)
    nonce_hash = Varchar(length=64, null=True, default=None)
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


# ---- Applications (issue 3) ------------------------------------------------------
# One application per applicant per round, one answer per question, one statement per
# criterion and one document per kind: raw unique indexes in their own migration.


class Application(Table):
    """An applicant's application to one round. Only `portal.domain.applications` sets `status`."""

    applicant = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade, index=True)
    round = ForeignKey(references=Round, null=False, on_delete=OnDelete.cascade, index=True)
    # draft / submitted / withdrawn (later shortlisted / unsuccessful / appointed)
    status = Varchar(length=20, default="draft", index=True)
    # Made at the first submit ("SP-2026-7K3F9Q") and kept through resubmits.
    reference = Varchar(length=32, unique=True, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    # The database's clock at the latest accepted submit: the one clock that decides.
    received_at = Timestamptz(null=True, default=None)
    in_grace = Boolean(default=False)
    content_hash = Varchar(length=64, null=True, default=None)
    version = Integer(default=0)
    withdrawn_at = Timestamptz(null=True, default=None)


class Answer(Table):
    application = ForeignKey(references=Application, null=False, on_delete=OnDelete.cascade)
    question = ForeignKey(references=Question, null=False, on_delete=OnDelete.cascade)
    text = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class Statement(Table):
    """The applicant's statement against one published criterion."""

    application = ForeignKey(references=Application, null=False, on_delete=OnDelete.cascade)
    criterion = ForeignKey(references=Criterion, null=False, on_delete=OnDelete.cascade)
    text = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class Document(Table):
    """An uploaded file, stored with the application so both commit or fail together."""

    application = ForeignKey(references=Application, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=20)  # cv / supporting
    filename = Varchar(length=255)
    content_type = Varchar(length=100)
    size = Integer()
    sha256 = Varchar(length=64)
    data = Bytea()
    uploaded_at = Timestamptz(default=TimestamptzNow())


class Submission(Table):
    """One accepted submit: what was received, when, and its hash. Earlier versions stay for admins."""

    application = ForeignKey(
        references=Application, null=False, on_delete=OnDelete.cascade, index=True
    )
    version = Integer()
    received_at = Timestamptz()
    in_grace = Boolean(default=False)
    content_hash = Varchar(length=64)
    snapshot = JSON(default="{}")


ALL_TABLES: list[type[Table]] = [
    User,
    Invitation,
    AccountToken,
    ApiToken,
    Seat,
    Criterion,
    Question,
    Round,
    DeadlineExtension,
    AuditEvent,
    OutboxMessage,
    Application,
    Answer,
    Statement,
    Document,
    Submission,
]
