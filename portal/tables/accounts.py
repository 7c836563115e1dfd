"""People: admin and applicant accounts, their single-use links, admin API tokens."""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    ForeignKey,
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
