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
- Every other write (save, upload, edit, withdraw) follows the same rule, so a
  draft saved in flight at the deadline is not lost; after it, drafts are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.domain.errors import DomainError
from portal.domain.timerules import DEFAULT_ZONE, ensure_aware_utc, format_instant


class DeadlinePassed(DomainError):
    """A write after the deadline. The message states the closing time in the round's zone."""

    status_code = 409

    def __init__(
        self,
        closes_at: datetime,
        zone_name: str = DEFAULT_ZONE,
        *,
        extended: bool = False,
        received_at: datetime | None = None,
    ) -> None:
        when = format_instant(closes_at, zone_name)
        if extended:
            opening = f"Your extended deadline for this round was {when}."
        else:
            opening = f"This round closed at {when}."
        super().__init__(
            f"{opening} Applications can no longer be changed, submitted or withdrawn; "
            "you can still read your draft."
        )
        self.closes_at = closes_at
        self.zone_name = zone_name
        self.extended = extended
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


def can_write(now: datetime, deadline: datetime, grace_minutes: int) -> bool:
    return isinstance(acceptance(now, deadline, grace_minutes), Accepted)


def ensure_can_write(
    now: datetime,
    deadline: datetime,
    grace_minutes: int,
    zone_name: str = DEFAULT_ZONE,
    *,
    extended: bool = False,
) -> None:
    """Refuse a write with DeadlinePassed (stating the effective closing time) once the grace is over."""
    if not can_write(now, deadline, grace_minutes):
        raise DeadlinePassed(ensure_aware_utc(deadline), zone_name, extended=extended)
