"""Outcome letters: the kinds, the two batches, the status each letter leaves, and
what one letter says.

Two batches, each chosen by an admin, previewed exactly as it will be sent, then
sent in one transaction:

- after shortlisting: "shortlisted" to the applications on the confirmed shortlist
  and "not_shortlisted" to the other submitted ones (their status becomes
  "unsuccessful");
- the appointment: "appointed" to the one application the admin chooses (which
  records the appointment and moves the round to "decided" through
  `transition_round`) and "not_appointed" to the other shortlisted ones.

The shared vocabulary of `outcome_reads`, `outcome_form` and `outcome_sending`,
kept apart so none of them imports another only for a name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from portal.domain.errors import Conflict
from portal.domain.statuses import ApplicationStatus

MAX_FEEDBACK = 5000
NO_SUCH_APPLICATION = "There is no such application in this round."


class OutcomeKind(enum.StrEnum):
    shortlisted = "shortlisted"
    not_shortlisted = "not_shortlisted"
    appointed = "appointed"
    not_appointed = "not_appointed"


LABELS = {
    OutcomeKind.shortlisted: "Shortlisted",
    OutcomeKind.not_shortlisted: "Not shortlisted",
    OutcomeKind.appointed: "Appointed",
    OutcomeKind.not_appointed: "Not appointed",
}


class Batch(enum.StrEnum):
    shortlisting = "shortlisting"
    appointment = "appointment"


# The application status each letter leaves behind, and the statuses it moves from.
S = ApplicationStatus
STATUS_AFTER: dict[OutcomeKind, tuple[ApplicationStatus, tuple[ApplicationStatus, ...]]] = {
    OutcomeKind.shortlisted: (S.shortlisted, (S.submitted,)),
    OutcomeKind.not_shortlisted: (S.unsuccessful, (S.submitted,)),
    OutcomeKind.appointed: (S.appointed, (S.submitted, S.shortlisted)),
    OutcomeKind.not_appointed: (S.unsuccessful, (S.submitted, S.shortlisted)),
}
# Who can still be appointed: on the shortlist and not already turned down.
APPOINTABLE = (S.submitted.value, S.shortlisted.value)


class AlreadySent(Conflict):
    """Every letter asked for had been sent before: nothing was sent again."""


@dataclass(frozen=True)
class OutcomeNotice:
    """What one outcome letter says, to whom. Scores and who scored are never in it."""

    application_id: int
    round_id: int
    kind: str
    name: str
    email: str
    seat_title: str
    reference: str
    feedback: str = ""
    # Every member who could score it did (or the round's minimum was met): only then
    # does a letter say the panel read and scored it.
    fully_scored: bool = True
