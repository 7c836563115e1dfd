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
    Real,
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
    # Reminders (issue 4): set from the link in every reminder; receipts still go.
    reminders_opt_out_at = Timestamptz(null=True, default=None)


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
    # Reminder schedule (issue 4): hours before each applicant's effective deadline,
    # comma-separated ("168,48,3"); empty sends none. `closed_notice`: tell applicants
    # whose draft was never submitted that the round closed.
    reminder_hours = Varchar(length=100, default="168,48,3")
    closed_notice = Boolean(default=True)
    # Panel scoring (issue 5): the scale is 0..scale_max; one description per point,
    # one per line (empty: the defaults). Hours before the scoring deadline at which
    # members with unscored applications are reminded.
    scale_max = Integer(default=4)
    scale_labels = Text(default="")
    panel_reminder_hours = Varchar(length=100, default="72,24")


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
    # Issue 4. Not sent after `expires_at` (a reminder whose deadline has passed);
    # `failed_at` is the latest failed attempt (queue health); `released_at` is an
    # admin's decision to send a message held for being older than the age limit.
    expires_at = Timestamptz(null=True, default=None)
    failed_at = Timestamptz(null=True, default=None, index=True)
    released_at = Timestamptz(null=True, default=None)


# ---- Applications (issue 3) ------------------------------------------------------
# One application per applicant per round, one answer per question, one statement per
# criterion and one document per kind: raw unique indexes in their own migration.


class Application(Table):
    """An applicant's application to one round.

    `status` (`portal.domain.statuses.ApplicationStatus`) is changed only by
    `portal.domain.applications.status.transition_application`, along `STATUS_MOVES`.
    """

    applicant = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade, index=True)
    round = ForeignKey(references=Round, null=False, on_delete=OnDelete.cascade, index=True)
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
    # "Applicant 7": given (shuffled) when the round moves to scoring; what an
    # anonymised panel sees instead of a name.
    panel_number = Integer(null=True, default=None)


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


# ---- Reminders (issue 4) -----------------------------------------------------------


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


# ---- Panels (issue 5) ------------------------------------------------------------


class PanelMember(Table):
    """A person on one round's panel. Unique on (round, user)."""

    round = ForeignKey(references=Round, null=False, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=10, default="member")  # member / chair
    invited_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    invited_at = Timestamptz(default=TimestamptzNow())
    # The invitation link (hash only) and when it stops working.
    token_hash = Varchar(length=64, unique=True, null=True, default=None)
    token_expires_at = Timestamptz(null=True, default=None)
    accepted_at = Timestamptz(null=True, default=None)
    confidentiality_at = Timestamptz(null=True, default=None)
    declarations_at = Timestamptz(null=True, default=None)
    removed_at = Timestamptz(null=True, default=None)


class PanelOrganisation(Table):
    """An organisation a member declared a connection to; its applicants are hidden from them."""

    member = ForeignKey(references=PanelMember, null=False, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=200)
    normalised = Varchar(length=200, index=True)
    declared_at = Timestamptz(default=TimestamptzNow())


class PanelConflict(Table):
    """A member's conflict with one application. Unique on (member, application)."""

    member = ForeignKey(references=PanelMember, null=False, on_delete=OnDelete.cascade, index=True)
    application = ForeignKey(references=Application, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=20)  # organisational / personal / financial / other
    source = Varchar(length=20, default="declared")  # declared / organisation / applicant
    note = Text(default="")
    declared_at = Timestamptz(default=TimestamptzNow())
    # excluded (the default) or minor: the chair's decision, with a reason.
    decision = Varchar(length=10, default="excluded")
    decision_reason = Text(default="")
    decided_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    decided_at = Timestamptz(null=True, default=None)


class ScoreSheet(Table):
    """One member's scoring of one application. Unique on (member, application)."""

    member = ForeignKey(references=PanelMember, null=False, on_delete=OnDelete.cascade, index=True)
    application = ForeignKey(references=Application, null=False, on_delete=OnDelete.cascade)
    updated_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    reopened_at = Timestamptz(null=True, default=None)
    reopened_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)


class Score(Table):
    """One criterion's score on a sheet. Unique on (sheet, criterion)."""

    # No index=True: SQLite names it "score_sheet", the table's own name. The unique
    # (sheet, criterion) index serves lookups by sheet.
    sheet = ForeignKey(references=ScoreSheet, null=False, on_delete=OnDelete.cascade)
    criterion = ForeignKey(references=Criterion, null=False, on_delete=OnDelete.cascade)
    value = Integer(null=True, default=None)
    comment = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class AgreedScore(Table):
    """The chair's moderated score for one criterion of one application, with a rationale."""

    application = ForeignKey(references=Application, null=False, on_delete=OnDelete.cascade)
    criterion = ForeignKey(references=Criterion, null=False, on_delete=OnDelete.cascade)
    value = Integer()
    rationale = Text()
    recorded_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    recorded_at = Timestamptz(default=TimestamptzNow())


class Shortlist(Table):
    """The chair's proposal (top N or above a threshold) and an admin's confirmation."""

    round = ForeignKey(references=Round, null=False, on_delete=OnDelete.cascade, unique=True)
    method = Varchar(length=10)  # top_n / threshold
    top_n = Integer(null=True, default=None)
    threshold = Real(null=True, default=None)
    note = Text(default="")
    proposed_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    proposed_at = Timestamptz(default=TimestamptzNow())
    confirmed_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    confirmed_at = Timestamptz(null=True, default=None)


class ShortlistEntry(Table):
    shortlist = ForeignKey(references=Shortlist, null=False, on_delete=OnDelete.cascade, index=True)
    application = ForeignKey(references=Application, null=False, on_delete=OnDelete.cascade)
    rank = Integer()
    total = Real()


class Outcome(Table):
    """An outcome letter sent to an applicant. Unique on (application, kind)."""

    application = ForeignKey(references=Application, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=20)  # shortlisted / not_shortlisted / appointed / not_appointed
    feedback = Text(default="")
    outbox = ForeignKey(references=OutboxMessage, null=True, on_delete=OnDelete.set_null)
    sent_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    sent_at = Timestamptz(default=TimestamptzNow())


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
    Reminder,
    PanelMember,
    PanelOrganisation,
    PanelConflict,
    ScoreSheet,
    Score,
    AgreedScore,
    Shortlist,
    ShortlistEntry,
    Outcome,
]
