"""The deadline rule: an applicant's effective deadline, and whether a submission counts.

Pure functions; every instant is a parameter, so the rule is tested at its
boundaries without a clock. The submit path feeds `acceptance` the database's
clock, read once inside the transaction that turns a draft into a submission.

- Effective deadline: the round's closing time, or the applicant's own extension
  if that is later (an extension never cuts anyone off).
- A submission received before the effective deadline is on time; one received
  from the deadline up to (not including) deadline + grace is accepted but flagged
  for admins; anything later is late. The grace is never advertised: it covers
  requests (and uploads) still in flight at the deadline.
- The grace only lets work that existed at the close be finished ("finishing"): a
  draft started before the deadline may still be saved, have its documents uploaded
  and be submitted, and changes saved to a submitted application before the deadline
  may still be submitted, so a request in flight at the deadline is not lost. Nothing
  new: no application can be started (or started again after a withdrawal), a
  submitted application cannot be changed and none can be withdrawn from the deadline
  on. After the grace, drafts are read-only.
- Once the round leaves the collecting stage (an admin moved it to scoring, or
  archived it), no applicant write is accepted at all, whatever the grace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.domain.errors import DomainError
from portal.domain.rounds.phase import RoundStage
from portal.domain.timerules import DEFAULT_ZONE, ensure_aware_utc, format_instant

COLLECTING = RoundStage.collecting.value

# What the grace allows, said once: the admin round page, the confirmation before
# leaving collecting and the README show these words (a test keeps them in step).
GRACE_ALLOWS = (
    "The grace period only lets work that existed at the closing time be finished: a "
    "draft started before the applicant's closing time (or personal extension) can still "
    "be saved, have its documents uploaded and be submitted, and changes saved to a "
    "submitted application before then can still be submitted. In the grace no "
    "application can be started or started again, no submitted application can be "
    "changed, and none can be withdrawn. Once the round moves on from collecting, no "
    "applicant write is accepted at all."
)


class DeadlinePassed(DomainError):
    """A write after the deadline, or once the round has moved on from collecting, or a
    start from the deadline on. The message states the closing time in the round's zone."""

    status_code = 409

    def __init__(
        self,
        closes_at: datetime,
        zone_name: str = DEFAULT_ZONE,
        *,
        extended: bool = False,
        received_at: datetime | None = None,
        stage: str = COLLECTING,
        starting: bool = False,
    ) -> None:
        when = format_instant(closes_at, zone_name)
        if extended:
            opening = f"Your extended deadline for this round was {when}."
        else:
            opening = f"This round closed at {when}."
        if stage != COLLECTING:
            opening = opening.removesuffix(".") + " and the panel's work on it has begun."
        if starting:
            rest = "New applications can no longer be started."
        else:
            rest = (
                "Applications can no longer be changed, submitted or withdrawn; "
                "you can still read your draft."
            )
        super().__init__(f"{opening} {rest}")
        self.closes_at = closes_at
        self.zone_name = zone_name
        self.extended = extended
        self.stage = stage
        # The clock reading that decided, when a submit was refused (for the audit and tests).
        self.received_at = received_at


@dataclass(frozen=True)
class Accepted:
    """The submission counts. `in_grace` marks one received after the deadline, inside the grace."""

    in_grace: bool = False

    @property
    def on_time(self) -> bool:
        return not self.in_grace


@dataclass(frozen=True)
class Late:
    """Received at or after the deadline plus the grace: refused."""


Acceptance = Accepted | Late

ON_TIME = Accepted(in_grace=False)
IN_GRACE = Accepted(in_grace=True)
LATE = Late()


def effective_deadline(
    round_closes_at: datetime, applicant_extension_closes_at: datetime | None = None
) -> datetime:
    closes_at = ensure_aware_utc(round_closes_at)
    if applicant_extension_closes_at is None:
        return closes_at
    return max(closes_at, ensure_aware_utc(applicant_extension_closes_at))


def grace_end(deadline: datetime, grace_minutes: int) -> datetime:
    """The first instant at which nothing is accepted any more."""
    return ensure_aware_utc(deadline) + timedelta(minutes=max(grace_minutes, 0))


def acceptance(received_at: datetime, deadline: datetime, grace_minutes: int) -> Acceptance:
    """Decide once: on time before `deadline`, in grace until deadline + grace (exclusive), else late."""
    received_at = ensure_aware_utc(received_at)
    if received_at < ensure_aware_utc(deadline):
        return ON_TIME
    if received_at < grace_end(deadline, grace_minutes):
        return IN_GRACE
    return LATE


def is_collecting(stage: str) -> bool:
    return stage == COLLECTING


def can_write(
    now: datetime,
    deadline: datetime,
    grace_minutes: int,
    stage: str = COLLECTING,
    *,
    finishing: bool = True,
) -> bool:
    """An applicant's write to an application that already exists, while the round is
    collecting: any write before the deadline; in the grace, only `finishing` work that
    existed at the close (see the module's doc)."""
    if not is_collecting(stage):
        return False
    decision = acceptance(now, deadline, grace_minutes)
    return decision == ON_TIME or (finishing and decision == IN_GRACE)


def can_start(now: datetime, deadline: datetime, stage: str = COLLECTING) -> bool:
    """Starting an application (or starting again after a withdrawal): before the deadline
    only. The grace is for work that existed at the close, never for new work."""
    return is_collecting(stage) and ensure_aware_utc(now) < ensure_aware_utc(deadline)


def is_before_deadline(now: datetime, deadline: datetime, stage: str = COLLECTING) -> bool:
    """Whether a page may tell the applicant they can still change their application."""
    return can_start(now, deadline, stage)


def ensure_can_write(
    now: datetime,
    deadline: datetime,
    grace_minutes: int,
    zone_name: str = DEFAULT_ZONE,
    *,
    extended: bool = False,
    stage: str = COLLECTING,
    finishing: bool = True,
) -> None:
    """Refuse a write with DeadlinePassed (stating the effective closing time) once the grace
    is over (from the deadline, if it is not `finishing` work), or once the round has
    left the collecting stage."""
    if not can_write(now, deadline, grace_minutes, stage, finishing=finishing):
        raise DeadlinePassed(ensure_aware_utc(deadline), zone_name, extended=extended, stage=stage)


def ensure_can_start(
    now: datetime,
    deadline: datetime,
    zone_name: str = DEFAULT_ZONE,
    *,
    extended: bool = False,
    stage: str = COLLECTING,
) -> None:
    """Refuse a start with DeadlinePassed from the (effective) deadline on, grace or not."""
    if not can_start(now, deadline, stage):
        raise DeadlinePassed(
            ensure_aware_utc(deadline), zone_name, extended=extended, stage=stage, starting=True
        )
