"""Demo data for the panel side: a seat whose round closed a few days ago and is in
scoring, six submitted applications, and a ready chair and member to sign in as.

The chair has submitted two score sheets (and the member one) so moderation shows
something; the member declared a connection to one applicant's organisation, so that
application is withheld from them. Loaded once: nothing is added if the seat exists.
The texts are in demo_panel.toml; the data is built by `tests.factories`, the same
builders the tests use.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from portal.domain.audit import Actor
from portal.domain.panels.access import PanelRole
from portal.domain.rounds.phase import RoundStage
from portal.tables import Seat
from tests.factories import (
    add_application,
    add_panel_member,
    advance_round,
    make_round,
    make_seat,
    score_application,
)

DEMO_CHAIR_EMAIL = "demo-chair@example.org"
DEMO_MEMBER_EMAIL = "demo-panel@example.org"


@dataclass(frozen=True)
class DemoApplicant:
    name: str
    email: str
    organisation: str
    job_title: str
    answers: tuple[str, ...]  # one per question
    statements: tuple[str, ...]  # one per criterion


# The texts (seat, criteria, questions, applicants, panel, score sheets) are data.
_DATA = tomllib.loads((Path(__file__).parent / "demo_panel.toml").read_text(encoding="utf-8"))
SEAT: dict[str, str] = _DATA["seat"]
CRITERIA = [(c["title"], c["guidance"], c["weight"]) for c in _DATA["criteria"]]
QUESTIONS = [(q["prompt"], q["word_limit"]) for q in _DATA["questions"]]
APPLICANTS = [
    DemoApplicant(
        a["name"],
        a["email"],
        a["organisation"],
        a["job_title"],
        tuple(a["answers"]),
        tuple(a["statements"]),
    )
    for a in _DATA["applicants"]
]
# Who the demo panel is; the member is connected to one applicant's organisation.
CHAIR = (_DATA["chair"]["name"], _DATA["chair"]["organisation"])
MEMBER = (_DATA["member"]["name"], _DATA["member"]["organisation"])
# Submitted score sheets: (email of the scorer, applicant's email, scores, comment).
_SCORERS = {"chair": DEMO_CHAIR_EMAIL, "member": DEMO_MEMBER_EMAIL}
SHEETS = [
    (_SCORERS[s["scorer"]], s["applicant"], tuple(s["scores"]), s["comment"])
    for s in _DATA["sheets"]
]


async def load_panel_demo(
    admin: Actor,
    passwords: Callable[[str], str],
    at_ten: Callable[[int], datetime],
    now: datetime,
) -> bool:
    """Add the panel demo unless its seat is already there; True when it was added.

    `passwords(email)` gives the demo chair's and member's sign-in passwords;
    `at_ten(days)` is 10:00 London time that many days from today. Accounts that exist
    already (from an earlier demo) are kept as they are.
    """
    if await Seat.exists().where(Seat.slug == SEAT["slug"]):
        return False
    entered = now - timedelta(days=30)
    seat = await make_seat(
        **SEAT,
        criteria=CRITERIA,
        questions=[(prompt, limit, True) for prompt, limit in QUESTIONS],
        actor=admin,
        now=entered,
    )
    closes_at = at_ten(-3)
    setup = await make_round(
        seat=seat,
        opens_at=closes_at - timedelta(days=28),
        closes_at=closes_at,
        grace_minutes=10,
        scoring_deadline=at_ten(7),
        actor=admin,
        now=entered,
    )
    apps: dict[str, int] = {}
    for i, person in enumerate(APPLICANTS):
        received = closes_at - timedelta(days=9 - i, hours=3 * i, minutes=17 * i)
        apps[person.email] = await add_application(
            setup,
            email=person.email,
            name=person.name,
            organisation=person.organisation,
            job_title=person.job_title,
            password=None,
            answers=person.answers,
            statements=person.statements,
            received_at=received,
            started_at=received - timedelta(days=5),
        )
    await advance_round(
        setup.round_id, RoundStage.scoring, actor=admin, now=now - timedelta(days=2)
    )
    members = {}
    for email, (name, organisation), role, declared in (
        (DEMO_CHAIR_EMAIL, CHAIR, PanelRole.chair, ""),
        (DEMO_MEMBER_EMAIL, MEMBER, PanelRole.member, MEMBER[1]),
    ):
        _, members[email] = await add_panel_member(
            setup,
            email=email,
            name=name,
            role=role,
            organisations=declared,
            invited_by=admin.user_id,
            password=passwords(email),
            organisation=organisation,
            now=now,
        )
    for scorer, applicant, values, comment in SHEETS:
        comments = {setup.criteria[0]: comment}
        await score_application(members[scorer], apps[applicant], values, comments, now=now)
    return True
