"""Demo data for the panel side: a seat whose round closed a few days ago and is in
scoring, six submitted applications, and a ready chair and member to sign in as.

The chair has submitted two score sheets (and the member one) so moderation shows
something; the member declared a connection to one applicant's organisation, so that
application is withheld from them. Loaded once: nothing is added if the seat exists.
Built by `tests.factories`, the same builders the tests use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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

SEAT: dict[str, Any] = {
    "slug": "lived-experience-lead-youth-justice-board",
    "title": "Lived experience lead, youth justice board",
    "summary": (
        "Someone with lived experience of the youth justice system, directly or as a family "
        "member, to lead the board's work on hearing from young people."
    ),
    "description": (
        "The youth justice board oversees services for children who come into contact with "
        "the police, courts and custody. The lived experience lead makes sure the board hears "
        "from children and families before it decides, and checks that what it decides makes "
        "sense to them.\n\nThe seat is for eighteen months, with a review after the first year."
    ),
    "eligibility": (
        "You have experience of the youth justice system yourself, or as the parent or carer "
        "of a child who did. You do not need qualifications or board experience."
    ),
    "represents": "Children and families with experience of the youth justice system.",
    "time_commitment": "About three days a month, including a board meeting every six weeks.",
    "remuneration": "£200 a day, paid to you or your organisation; travel and care costs paid.",
    "location": "Birmingham or online.",
    "how_to_apply": "This round has closed. The panel is scoring the applications.",
}

CRITERIA = [
    (
        "Lived experience of youth justice",
        "What you have been through, and what it taught you about how the system treats children.",
        3,
    ),
    (
        "Bringing others' voices",
        "How you would hear from children and families who are not like you, and carry their views.",
        2,
    ),
    (
        "Working with the board",
        "Raising difficult points in a room of professionals, and finding common ground.",
        1,
    ),
]

QUESTIONS = [
    ("Why do you want this seat, and what would you change first?", 300),
    ("How would you stay in touch with young people and families while you hold the seat?", 250),
]


@dataclass(frozen=True)
class DemoApplicant:
    name: str
    email: str
    organisation: str
    job_title: str
    answers: tuple[str, str]
    statements: tuple[str, str, str]


APPLICANTS = [
    DemoApplicant(
        "Amara Osei",
        "amara.osei@example.net",
        "Youth Voice Collective",
        "Participation coordinator",
        (
            "I was remanded at sixteen and spent four months waiting for a trial that ended in "
            "an acquittal. Nobody explained anything to my mum. I want the board to fix how "
            "families are told what is happening, starting with remand.",
            "I run monthly sessions with young people in two youth offending teams. I would "
            "bring the board's papers to those sessions in plain words and report back what "
            "they say, including when they disagree with me.",
        ),
        (
            "Remand, a youth offending team order at seventeen, and five years since then "
            "helping others through the same. I learnt that being listened to early changes "
            "how a child sees every adult after.",
            "I have set up a panel of twelve young people from different areas. Three are "
            "girls, which matters because their experience is often left out.",
            "I have presented to the police and crime commissioner twice and asked for changes "
            "to stop-and-search recording. One was adopted.",
        ),
    ),
    DemoApplicant(
        "Callum Reid",
        "callum.reid@example.net",
        "Second Chances Mentoring",
        "Peer mentor",
        (
            "I served a detention and training order at fifteen. I now mentor boys leaving "
            "custody. Resettlement is where it goes wrong: I would push the board to measure "
            "what happens in the first six weeks after release.",
            "I see the boys I mentor every week, and I would ask them and their families what "
            "they think of each thing the board is deciding.",
        ),
        (
            "Custody at fifteen, then two years of struggling to get back into school. I know "
            "how a missed appointment turns into a breach.",
            "I mentor mostly white working-class boys; I would work with other mentors to reach "
            "young people whose experience is different from mine.",
            "I sit on my local resettlement forum and have learnt to make a point once, clearly, "
            "and follow it up in writing.",
        ),
    ),
    DemoApplicant(
        "Priya Nair",
        "priya.nair@example.net",
        "Family Links Network",
        "Parent advocate",
        (
            "My son went through the youth courts three years ago. As his mum I was treated as "
            "part of the problem. I want the board to see parents as partners and to hear "
            "from us before services are redesigned.",
            "I run a parents' support group that meets online every fortnight and would use "
            "it to test ideas and gather views.",
        ),
        (
            "Supporting my son through arrest, court and a referral order. I learnt how much "
            "depends on one good worker.",
            "Our group has parents from many backgrounds; we use interpreters for three "
            "languages and I would bring their views as they give them.",
            "I have worked with the local authority on a leaflet for parents, and disagreed "
            "with them politely until it said what parents needed to hear.",
        ),
    ),
    DemoApplicant(
        "Tomasz Nowak",
        "tomasz.nowak@example.net",
        "Northside Boxing Academy",
        "Youth worker",
        (
            "I was in and out of youth court between thirteen and seventeen. Sport gave me "
            "structure. I want diversion to be taken as seriously as punishment.",
            "The academy trains about sixty young people a week, many referred by the youth "
            "offending team; I would talk with them before and after each board meeting.",
        ),
        (
            "Several cautions and a referral order as a teenager. I know what it feels like to "
            "be written off at school.",
            "I would make space for young people who do not like meetings, by going where they "
            "already are.",
            "I have less experience of formal meetings and would want support with the papers.",
        ),
    ),
    DemoApplicant(
        "Keisha Campbell",
        "keisha.campbell@example.net",
        "Beyond Custody CIC",
        "Founder and director",
        (
            "I spent time in a young offender institution at seventeen. Black children are "
            "still far more likely to be held in custody. I want the board to publish and act "
            "on its own figures on disparity.",
            "Our community interest company runs a youth advisory group; I would also hold "
            "open sessions twice a year for any family that wants to come.",
        ),
        (
            "Custody at seventeen and the long road after it. I learnt that the system "
            "remembers your worst day far longer than you do.",
            "I have built partnerships with four grassroots groups across the city and would "
            "share the seat's work with them.",
            "I sit on a police scrutiny panel and chair its subgroup on use of force.",
        ),
    ),
    DemoApplicant(
        "Ellie Morgan",
        "ellie.morgan@example.net",
        "",
        "Student",
        (
            "I am twenty and was given a youth rehabilitation order at sixteen. I am studying "
            "social work now. I want the board to ask young people what support actually "
            "helped, not only what went wrong.",
            "I would use the networks at my university and an online group of care leavers I "
            "belong to.",
        ),
        (
            "A youth rehabilitation order while I was in care. I learnt how many adults can be "
            "involved in one child's life without anyone being in charge.",
            "Many care leavers have been through youth justice; I would make sure their voice "
            "is heard.",
            "I have spoken at a conference for social workers and answered their questions.",
        ),
    ),
]

# Who the demo panel is; the member is connected to one applicant's organisation.
CHAIR = ("Ruth Adeyemi", "Youth justice board")
MEMBER = ("Sam Whitfield", "Family Links Network")

# Submitted score sheets: (email of the scorer, applicant's email, scores, comment).
SHEETS = [
    (
        DEMO_CHAIR_EMAIL,
        "amara.osei@example.net",
        (4, 3, 3),
        "Clear, specific evidence; a concrete plan for the first year.",
    ),
    (
        DEMO_CHAIR_EMAIL,
        "keisha.campbell@example.net",
        (3, 4, 3),
        "Strong reach into grassroots groups.",
    ),
    (
        DEMO_MEMBER_EMAIL,
        "amara.osei@example.net",
        (3, 3, 4),
        "Good evidence throughout.",
    ),
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
