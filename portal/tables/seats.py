"""Seats, their criteria and questions, rounds and deadline extensions."""

from __future__ import annotations

from piccolo.columns import (
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

from portal.tables.accounts import User


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
    # Unused until nominations exist (that issue gives it behaviour): never offered.
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
    # Issue 10: completed score sheets each application needs before it can be
    # shortlisted out or turned down; None = every member not conflicted with it.
    min_score_sheets = Integer(null=True, default=None)


class DeadlineExtension(Table):
    """A later closing time, for the whole round or (applicant set) for one person."""

    round = ForeignKey(references=Round, null=False, on_delete=OnDelete.cascade)
    applicant = ForeignKey(references=User, null=True, on_delete=OnDelete.cascade)
    previous_closes_at = Timestamptz()
    closes_at = Timestamptz()
    reason = Text()
    granted_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
