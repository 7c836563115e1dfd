"""The audit log: append-only rows."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.tables.accounts import User
from portal.tables.seats import Round


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
