"""Panel numbers: what an anonymised panel calls an application ("Applicant 7").

Given when a round moves to scoring, shuffled with the system's random source, so
the number says nothing about who applied first or their name's place in the
alphabet. A number once given is never changed; the unique (round, panel_number)
index keeps two applications of a round from sharing one.
"""

from __future__ import annotations

import secrets

from portal.domain.statuses import ApplicationStatus
from portal.tables import Application

_RANDOM = secrets.SystemRandom()


async def assign_panel_numbers(round_id: int) -> int:
    """Number every submitted application of the round that has no number yet.

    Numbers continue after the highest one already given (1..N on the first run).
    Returns how many were given. The caller owns the (write) transaction.
    """
    rows = await Application.select(
        Application.id, Application.status, Application.panel_number
    ).where(Application.round == round_id)
    highest = max((r["panel_number"] for r in rows if r["panel_number"] is not None), default=0)
    waiting = sorted(
        r["id"]
        for r in rows
        if r["panel_number"] is None and r["status"] == ApplicationStatus.submitted.value
    )
    numbers = list(range(highest + 1, highest + 1 + len(waiting)))
    _RANDOM.shuffle(numbers)
    for application_id, number in zip(waiting, numbers, strict=True):
        # Conditional: a number given meanwhile (a concurrent call) is kept.
        await Application.update({Application.panel_number: number}).where(
            (Application.id == application_id) & Application.panel_number.is_null()
        )
    return len(waiting)
