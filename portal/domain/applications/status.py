"""An application's status: the moves it may make, the one function that makes them, and
what may be done to an application in each status.

`transition_application` is the only writer of `Application.status`: starting again
after a withdrawal, submitting, withdrawing, shortlisting and outcome letters all call
it. Each move is one conditional UPDATE from the statuses that may lead to the new one
(so two requests at once move an application once), stamped with `now`. The caller
records the audit event, because each move has its own detail to keep (a submission's
reference and hash, a letter's kind).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from portal.domain.errors import Conflict
from portal.domain.statuses import ApplicationStatus
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Application

__all__ = ["ApplicationStatus", "STATUS_MOVES", "transition_application"]

S = ApplicationStatus
STATUS_MOVES: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    S.draft: frozenset({S.submitted, S.withdrawn}),
    # A changed submission is submitted again (a new version); the panel's decisions
    # come after the close.
    S.submitted: frozenset({S.submitted, S.withdrawn, S.shortlisted, S.unsuccessful, S.appointed}),
    S.withdrawn: frozenset({S.draft}),  # started again while the round is open
    S.shortlisted: frozenset({S.appointed, S.unsuccessful}),
    S.unsuccessful: frozenset(),
    S.appointed: frozenset(),
}

EDITABLE = frozenset({S.draft, S.submitted})


class ApplicationWithdrawn(Conflict):
    """A write to an application its owner withdrew."""


def ensure_editable(application: Mapping[str, Any]) -> None:
    status = ApplicationStatus(application["status"])
    if status is ApplicationStatus.withdrawn:
        raise ApplicationWithdrawn("You withdrew this application. Start it again to make changes.")
    if status not in EDITABLE:
        raise Conflict("This application can no longer be changed.")


def is_draft(application: Mapping[str, Any]) -> bool:
    """A draft: work in progress, that the grace may still see finished (a submitted
    application was finished already; only its saved changes may be submitted)."""
    return application["status"] == ApplicationStatus.draft.value


def can_move(current: ApplicationStatus | str, to: ApplicationStatus) -> bool:
    return to in STATUS_MOVES[ApplicationStatus(current)]


async def transition_application(
    application_ids: int | Sequence[int],
    to: ApplicationStatus,
    now: datetime,
    *,
    only_from: Iterable[ApplicationStatus] | None = None,
    values: Mapping[Any, Any] | None = None,
    where: Any = None,
) -> list[int]:
    """Move these applications to `to`, each only from a status that may lead there
    (narrowed to `only_from` if given) and matching `where`; returns the ids moved.

    `values` are other columns set in the same UPDATE (a withdrawal's time, a
    submission's reference). An id that could not move is left out of the result: the
    caller decides whether that is a clash to report.
    """
    ids = [application_ids] if isinstance(application_ids, int) else list(application_ids)
    sources = {s for s, moves in STATUS_MOVES.items() if to in moves}
    if only_from is not None:
        sources &= set(only_from)
    if not ids or not sources:
        return []
    condition = Application.id.is_in(ids) & Application.status.is_in(
        sorted(s.value for s in sources)
    )
    if where is not None:
        condition &= where
    rows = (
        await Application.update(
            {
                Application.status: to.value,
                Application.updated_at: ensure_aware_utc(now),
                **(values or {}),
            }
        )
        .where(condition)
        .returning(Application.id)
    )
    return [row["id"] for row in rows]
