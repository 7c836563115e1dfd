"""Seed a benchmark database: the demo data plus enough seats that the seat list is full.

The demo (portal/demo.py) gives three seats. A real list has more, so this adds
seats with criteria, questions and a round each, through `tests.factories` (which
go through the same domain functions the admin pages use), until the list shows
about twenty seats: most open, a few opening soon, a few recently closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from piccolo.engine.sqlite import SQLiteEngine

from portal import db
from portal.demo import RACIAL_EQUITY, load_demo
from portal.domain.audit import Actor
from portal.domain.seats.editing import slugify
from portal.domain.timerules import utcnow
from portal.settings import Settings
from portal.tables import User
from tests.factories import make_seat

DEMO_SLUG = RACIAL_EQUITY["slug"]

# (title, who it represents, where) -> one seat each. Realistic variety in length.
EXTRA_SEATS = [
    (
        "Women's sector lead, criminal justice advisory group",
        "Women's organisations supporting women in contact with the justice system",
        "London or online",
    ),
    (
        "Youth voice representative, violence reduction partnership",
        "Young people's organisations working on serious violence",
        "Birmingham",
    ),
    (
        "Housing and homelessness representative, reducing reoffending board",
        "Housing providers and homelessness charities working with prison leavers",
        "Online",
    ),
    (
        "Mental health lead, liaison and diversion forum",
        "Mental health charities working with people in police custody and courts",
        "Leeds or online",
    ),
    (
        "Substance misuse representative, combating drugs partnership",
        "Drug and alcohol treatment charities",
        "Bristol",
    ),
    (
        "Victims' services representative, local criminal justice board",
        "Independent victims' services and advocates",
        "Cardiff",
    ),
    (
        "Family support lead, prisoners' families network",
        "Organisations supporting the families of people in prison",
        "Online",
    ),
    (
        "Employment and skills representative, prison education board",
        "Charities helping people with convictions into work",
        "Nottingham",
    ),
    (
        "Restorative justice representative, police and crime panel",
        "Restorative justice services and practitioners",
        "Exeter",
    ),
    (
        "Disability equality lead, courts user group",
        "Disabled people's organisations working on access to justice",
        "Manchester or online",
    ),
    (
        "LGBTQ+ representative, probation engagement forum",
        "LGBTQ+ organisations supporting people on probation",
        "Brighton",
    ),
    (
        "Gypsy, Roma and Traveller representative, justice advisory panel",
        "Organisations led by and for Gypsy, Roma and Traveller communities",
        "Online",
    ),
    (
        "Older prisoners lead, health and justice partnership",
        "Charities working with older people in prison and on release",
        "Newcastle",
    ),
    (
        "Faith-based organisations representative, resettlement alliance",
        "Faith-based charities supporting resettlement",
        "Liverpool",
    ),
    (
        "Domestic abuse specialist, multi-agency risk forum",
        "Specialist domestic abuse services, including by-and-for services",
        "Sheffield or online",
    ),
    (
        "Veterans' representative, armed forces justice network",
        "Charities supporting veterans in the justice system",
        "Plymouth",
    ),
    (
        "Neurodiversity lead, youth offending service board",
        "Organisations supporting neurodivergent young people",
        "Norwich",
    ),
]

# Phase of each extra seat's round, in order: most open, some soon, some closed.
PHASES = ["open"] * 11 + ["upcoming"] * 3 + ["closed"] * 3


CRITERIA = [
    (
        "Connection to the people represented",
        "How you and your organisation are connected to them.",
        3,
    ),
    ("Expertise", "Service delivery, policy, advocacy or research in this field.", 2),
    ("Representing others", "How you will gather and bring the views of other organisations.", 1),
]


def _seat_text(i: int, title: str, represents: str, location: str) -> dict[str, str]:
    return {
        "title": title,
        "slug": f"{slugify(title)[:100]}-{i}",
        "summary": f"A leader from the sector to represent {represents.lower()}, bringing their experience to the group's advice.",
        "description": (
            f"The group advises on national and local policy. This seat makes sure the voice of {represents.lower()} "
            "is heard when the group forms its advice, and links the group with organisations across the country.\n\n"
            "The seat is for two years. You will attend quarterly meetings, review papers and lead one piece of work a year."
        ),
        "eligibility": "You lead, or hold a senior role in, a voluntary or community organisation in this field.",
        "represents": represents,
        "time_commitment": "About one day a month, including four meetings a year.",
        "remuneration": "£200 a day for your organisation; travel and care expenses paid.",
        "location": location,
        "how_to_apply": "Apply online before the closing time: answer the questions and give a statement against each criterion.",
    }


async def _add_extra_seats(actor: Actor, now: datetime) -> None:
    day = timedelta(days=1)
    for i, ((title, represents, location), phase) in enumerate(
        zip(EXTRA_SEATS, PHASES, strict=True)
    ):
        if phase == "open":
            opens, closes = now - (3 + i) * day, now + (2 + i) * day
        elif phase == "upcoming":
            opens, closes = now + (5 + i) * day, now + (30 + i) * day
        else:
            opens, closes = now - (40 + i) * day, now - (1 + i) * day
        await make_seat(
            **_seat_text(i, title, represents, location),
            criteria=CRITERIA,
            questions=[("Why do you want this seat?", 300, True)],
            rounds=[(opens, closes)],
            actor=actor,
            now=now,
        )


async def seed(settings: Settings, now: datetime | None = None) -> None:
    """Migrate an empty database and fill it. Uses the portal's own engine and helpers.

    Seed every database of a run with the same `now`, so they hold the same times and
    every target renders the same HTML."""
    engine = db.engine_for(settings)
    await db.migrate(engine)
    now = now or utcnow()
    async with db.write_transaction():
        await load_demo(settings, now)
        admin = await User.select(User.id, User.email).first()
        await _add_extra_seats(Actor(admin["id"], admin["email"]), now)
    if isinstance(engine, SQLiteEngine):
        # Settle the WAL into the main file so every target starts from the same state.
        await engine.run_ddl("PRAGMA wal_checkpoint(TRUNCATE)")


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'portal.sqlite3'}"


def with_database(url: str, name: str) -> str:
    """The same server address with another database name."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def recreate_postgres_database(admin_url: str, name: str, *, drop_only: bool = False) -> None:
    """Drop (and unless `drop_only`, create) a scratch database on the server of `admin_url`."""
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def drop_postgres_databases(admin_url: str, names: list[str]) -> None:
    """The benchmarks' clean-up: drop each scratch database, ignoring any failure (the
    run is ending either way)."""
    for name in names:
        with contextlib.suppress(Exception):
            asyncio.run(recreate_postgres_database(admin_url, name, drop_only=True))
