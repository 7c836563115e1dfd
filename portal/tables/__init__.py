"""Piccolo tables, one module per area. Slim on purpose: rules live in `portal.domain`.

Every datetime is an aware UTC instant (`Timestamptz`). Foreign keys state their
nullability and delete rule explicitly (Piccolo's default is nullable + cascade).
Composite unique constraints are raw `CREATE UNIQUE INDEX` migrations, because
Piccolo's `Unique([...])` fails on SQLite.
"""

from __future__ import annotations

from piccolo.table import Table

from portal.tables.accounts import AccountToken, ApiToken, Invitation, User
from portal.tables.applications import Answer, Application, Document, Statement, Submission
from portal.tables.audit import AuditEvent
from portal.tables.messages import OutboxMessage, Reminder
from portal.tables.panels import (
    AgreedScore,
    Outcome,
    PanelConflict,
    PanelMember,
    PanelOrganisation,
    Score,
    ScoreSheet,
    Shortlist,
    ShortlistEntry,
    UnscoredDecision,
)
from portal.tables.seats import Criterion, DeadlineExtension, Question, Round, Seat

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
    UnscoredDecision,
]

__all__ = [
    "ALL_TABLES",
    "User",
    "Invitation",
    "AccountToken",
    "ApiToken",
    "Seat",
    "Criterion",
    "Question",
    "Round",
    "DeadlineExtension",
    "AuditEvent",
    "OutboxMessage",
    "Application",
    "Answer",
    "Statement",
    "Document",
    "Submission",
    "Reminder",
    "PanelMember",
    "PanelOrganisation",
    "PanelConflict",
    "ScoreSheet",
    "Score",
    "AgreedScore",
    "Shortlist",
    "ShortlistEntry",
    "Outcome",
    "UnscoredDecision",
]
