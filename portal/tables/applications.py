"""Applications and their parts: answers, statements, documents, submitted versions.

One application per applicant per round, one answer per question, one statement per
criterion and one document per kind: raw unique indexes in their own migration.
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

from portal.tables.accounts import User
from portal.tables.seats import Criterion, Question, Round


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
