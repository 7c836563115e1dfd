"""Demo data for the embedded mode: a realistic seat with an open round, one opening
soon and one recently closed, and (portal.demo_panel) a round in scoring with a
panel to sign in as. Loading twice changes nothing.

Built by `tests.factories` (installed with the portal), the builders the tests use,
so the demo goes through the same domain rules as an admin would."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta

from portal.demo_panel import DEMO_CHAIR_EMAIL, DEMO_MEMBER_EMAIL, load_panel_demo
from portal.domain.audit import Actor
from portal.domain.timerules import local_to_utc, utcnow, zone
from portal.settings import Settings
from portal.tables import Seat, User
from tests.factories import make_admin, make_seat

DEMO_ADMIN_EMAIL = "admin@example.org"

RACIAL_EQUITY = {
    "slug": "racial-equity-lead-cjs-advisory-group",
    "title": "Racial equity lead, criminal justice voluntary sector advisory group",
    "summary": (
        "A leader from an organisation focused on racially minoritised people, with expertise in "
        "service delivery, policy, advocacy or related areas in criminal justice."
    ),
    "description": (
        "The advisory group brings the voluntary sector's voice to national criminal justice policy. "
        "The racial equity lead makes sure the experience of racially minoritised people in contact "
        "with the justice system shapes the group's advice, and links the group with specialist "
        "organisations across the country.\n\nThe seat is for two years. You will attend quarterly "
        "meetings, review papers, and lead the group's work on racial disparity."
    ),
    "eligibility": (
        "You lead, or hold a senior role in, a voluntary or community organisation whose main focus "
        "is racially minoritised people. You have experience of criminal justice services, policy or "
        "advocacy. You do not need to be based in London."
    ),
    "represents": "Organisations led by and for racially minoritised people working in criminal justice.",
    "time_commitment": "About two days a month, including four half-day meetings a year.",
    "remuneration": "£250 a day for your organisation; travel and care expenses paid.",
    "location": "Hybrid: meetings in London or online; most work remote.",
    "how_to_apply": (
        "Apply online before the closing time. Answer the questions and give a short statement "
        "against each criterion, and upload a CV of no more than two pages."
    ),
}

CRITERIA = [
    (
        "Lived and organisational connection",
        "Show how you and your organisation are connected to racially minoritised communities affected by the justice system.",
        3,
    ),
    (
        "Criminal justice expertise",
        "Service delivery, policy, advocacy or research in criminal justice.",
        2,
    ),
    (
        "Representing others",
        "How you will gather and bring the views of other organisations, not only your own.",
        2,
    ),
    ("Working in partnership", "Examples of constructive challenge with statutory bodies.", 1),
]

QUESTIONS = [
    ("Why do you want this seat, and what would you do in your first year?", 400, True),
    ("Tell us about your organisation and the people it serves.", 300, True),
    ("Is there anything else the panel should know?", 200, False),
]

OTHER_SEATS = [
    {
        "slug": "lived-experience-member-youth-justice-board",
        "title": "Lived experience member, youth justice partnership board",
        "summary": "A person with lived experience of the youth justice system to advise the board.",
        "description": "Help the board hear directly from young people and their families.",
        "eligibility": "Lived experience of youth justice, directly or as a family member.",
        "represents": "Young people and families with experience of youth justice.",
        "time_commitment": "One evening a month.",
        "remuneration": "£100 a meeting and expenses.",
        "location": "Online.",
        "how_to_apply": "Apply online when the round opens.",
        "_round": "upcoming",
    },
    {
        "slug": "small-charities-rep-probation-forum",
        "title": "Small charities representative, probation partnership forum",
        "summary": "A voice for charities with fewer than ten staff working with people on probation.",
        "description": "Represent small charities at the regional probation forum.",
        "eligibility": "Chief executive or trustee of a small charity in the region.",
        "represents": "Small charities working with people on probation.",
        "time_commitment": "Quarterly meetings.",
        "remuneration": "Expenses only.",
        "location": "Manchester.",
        "how_to_apply": "This round has closed.",
        "_round": "closed",
    },
]


# Whose demo password is kept in which file under var/.
PASSWORD_FILES = {
    DEMO_ADMIN_EMAIL: "demo_admin_password",
    DEMO_CHAIR_EMAIL: "demo_chair_password",
    DEMO_MEMBER_EMAIL: "demo_panel_password",
}


def demo_password(settings: Settings, email: str = DEMO_ADMIN_EMAIL) -> str:
    """A per-install random password, kept under var/ so it is printed the same each run."""
    path = settings.var_dir / PASSWORD_FILES[email]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def _at_ten(day_offset: int, now: datetime) -> datetime:
    local = now.astimezone(zone("Europe/London")).date() + timedelta(days=day_offset)
    return local_to_utc(datetime.combine(local, time(10, 0)), "Europe/London")


def _text(data: dict) -> dict:
    """A seat's fields without the demo's own notes (keys starting with "_")."""
    return {k: v for k, v in data.items() if not k.startswith("_")}


async def load_demo(settings: Settings, now: datetime | None = None) -> bool:
    """True when anything was added. The panel demo is added to an install that has the
    demo admin but not yet the panel seat (one set up before the panel demo existed)."""
    now = now or utcnow()
    admin = await User.select(User.id).where(User.email == DEMO_ADMIN_EMAIL).first()
    if admin is not None:
        return await _panel_demo(settings, Actor(admin["id"], DEMO_ADMIN_EMAIL), now)
    admin_id = await make_admin(DEMO_ADMIN_EMAIL, "Demo Admin", demo_password(settings), now)
    actor = Actor(admin_id, DEMO_ADMIN_EMAIL)
    if await Seat.exists().where(Seat.slug == RACIAL_EQUITY["slug"]):
        await _panel_demo(settings, actor, now)
        return True
    await make_seat(
        **_text(RACIAL_EQUITY),
        criteria=CRITERIA,
        questions=QUESTIONS,
        rounds=[(now - timedelta(days=7), _at_ten(4, now))],
        actor=actor,
        now=now,
    )
    for data in OTHER_SEATS:
        if data["_round"] == "upcoming":
            rounds = [(_at_ten(10, now), _at_ten(31, now))]
        else:  # entered a month ago, when it was still to close
            rounds = [(now - timedelta(days=30), _at_ten(-3, now))]
        await make_seat(
            **_text(data),
            criteria=[("Relevant experience", "Tell us what you bring.", 1)],
            rounds=rounds,
            actor=actor,
            now=now,
        )
    await _panel_demo(settings, actor, now)
    return True


async def _panel_demo(settings: Settings, actor: Actor, now: datetime) -> bool:
    return await load_panel_demo(
        actor,
        lambda email: demo_password(settings, email),
        lambda days: _at_ten(days, now),
        now,
    )


def print_logins(settings: Settings) -> None:
    print("\nDemo admin sign-in")
    print(f"  address:  {settings.base_url}/admin/sign-in")
    print(f"  email:    {DEMO_ADMIN_EMAIL}")
    print(f"  password: {demo_password(settings)}")
    print(
        f"  mailbox:  {settings.base_url}/admin/outbox (also .eml files in {settings.mailbox_dir})\n"
    )
    print("Demo selection panel sign-in (a round in scoring)")
    print(f"  address:  {settings.base_url}/account/sign-in, then {settings.base_url}/panel")
    print(f"  Panel chair: {DEMO_CHAIR_EMAIL} / {demo_password(settings, DEMO_CHAIR_EMAIL)}")
    print(f"  Panel member: {DEMO_MEMBER_EMAIL} / {demo_password(settings, DEMO_MEMBER_EMAIL)}\n")
