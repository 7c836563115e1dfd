"""Panels: members, their declared organisations and conflicts, score sheets and scores,
agreed scores, the shortlist and outcome letters.
"""

from __future__ import annotations

from piccolo.columns import (
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

from portal.tables.accounts import User
from portal.tables.applications import Application
from portal.tables.messages import OutboxMessage
from portal.tables.seats import Criterion, Round


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


class UnscoredDecision(Table):
    """The chair's audited decision that an application goes forward short of its score
    sheets ("not scored: reason"). One per application (raw unique index)."""

    round = ForeignKey(references=Round, null=False, on_delete=OnDelete.cascade, index=True)
    application = ForeignKey(references=Application, null=False, on_delete=OnDelete.cascade)
    reason = Text()
    decided_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    decided_at = Timestamptz()
