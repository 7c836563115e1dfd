"""The data the panel browser tests start from, written to the live server's database.

Run in a subprocess (`python -m tests.browser.seeds NAME TAG [ARGS]`, see
helpers.seed_round), because this pytest process binds Piccolo's tables to other
databases. Each seed prints the round id and its application ids; the tag keeps its
slugs and email addresses unique. Everything is built by `tests.factories`.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from tests.factories import (
    RoundSetup,
    add_application,
    add_invitation,
    add_panel_member,
    connect,
    make_round,
    make_shortlisted,
    score_application,
)


async def _scoring_round(slug: str, emails: str, count: int, **application) -> RoundSetup:
    """A round in scoring with `count` applications by "Hidden Name 0", 1, ... (names a
    panel page must not show), numbered for the panel in that order."""
    setup = await make_round(stage="scoring", slug=slug)
    for i in range(count):
        await add_application(
            setup,
            email=emails.format(i=i),
            name=f"Hidden Name {i}",
            panel_number=i + 1,
            **{k: v.format(n=i + 1) for k, v in application.items()},
        )
    return setup


async def _member_and_chair(setup: RoundSetup, tag: str) -> None:
    await add_panel_member(setup, email=f"member-{tag}@example.org", name="Mo Member")
    await add_panel_member(
        setup, email=f"chair-{tag}@example.org", name="Chris Chair", role="chair"
    )


async def scoring(tag: str) -> RoundSetup:
    """Two applications, a member and a chair, nothing scored yet."""
    setup = await _scoring_round(
        f"scoring-{tag}", f"app{{i}}-{tag}@example.org", 2, text="Answer {n} in my own words."
    )
    await _member_and_chair(setup, tag)
    return setup


async def panel(tag: str) -> RoundSetup:
    """Two applications, a ready member and chair, one not ready (no declarations yet),
    and an invitation whose token is `token-<tag>`."""
    setup = await _scoring_round(f"panel-{tag}", f"app{{i}}-{tag}@example.org", 2)
    await _member_and_chair(setup, tag)
    await add_panel_member(setup, email=f"new-{tag}@example.org", name="Nia New", ready=False)
    await add_invitation(
        setup,
        email=f"invitee-{tag}@example.org",
        name="Ivy Invitee",
        token=f"token-{tag}",
        valid_for=timedelta(days=1),
    )
    return setup


async def moderation(tag: str) -> RoundSetup:
    """Three applications scored and submitted by two members who disagree on Applicant
    1's first criterion (spread 3), and a chair."""
    setup = await _scoring_round(f"moderation-{tag}", f"mod{{i}}-{tag}@example.org", 3)
    _, m1 = await add_panel_member(setup, email=f"mm1-{tag}@example.org", name="Mo Member")
    _, m2 = await add_panel_member(setup, email=f"mm2-{tag}@example.org", name="Max Member")
    await add_panel_member(
        setup, email=f"mchair-{tag}@example.org", name="Chris Chair", role="chair"
    )
    marks = {m1: [[4, 1], [3, 3], [1, 1]], m2: [[1, 1], [3, 3], [1, 1]]}
    for member, rows in marks.items():
        for app, values in zip(setup.applications, rows, strict=True):
            await score_application(member, app, values)
    return setup


async def outcomes(tag: str) -> list[int]:
    """A confirmed shortlist of two of three applications (see test_shortlist_pack)."""
    s = await make_shortlisted(title=f"Seat {tag}", domain=f"{tag}.example")
    return [s.setup.round_id, s.first, s.second, s.unlisted]


async def panel_journey(tag: str, title: str) -> RoundSetup:
    """Open since last week, closing in three days (the admin closes it by hand), four
    applications with neutral answers, so no anonymised page gives a name away."""
    people = [
        ("Ada Achebe", "Clinks"),
        ("Ben Okoro", "Nacro"),
        ("Cal Lewis", "Shelter"),
        ("Dee Marsh", ""),
    ]
    setup = await make_round(
        title=title,
        slug=f"panel-journey-{tag}",
        opens_at=-timedelta(days=7),
        closes_at=timedelta(days=3),
    )
    for i, (name, organisation) in enumerate(people):
        await add_application(
            setup,
            email=f"applicant{i}-{tag}@example.org",
            name=name,
            organisation=organisation,
            text=f"Answer number {i + 1}.",
        )
    return setup


SEEDS = {f.__name__: f for f in (scoring, panel, moderation, outcomes, panel_journey)}


async def main(name: str, *args: str) -> None:
    seeded = await SEEDS[name](*args)
    ids = seeded if isinstance(seeded, list) else [seeded.round_id, *seeded.applications]
    print(*ids)


if __name__ == "__main__":
    connect()
    asyncio.run(main(*sys.argv[1:]))
