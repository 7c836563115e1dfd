"""The demo data (`portal demo`, run by `make run`): loading it twice adds nothing, and
the demo panel chair and member it prints can sign in and try the panel pages."""

from __future__ import annotations

import re

import pytest

from portal import db
from portal.demo import DEMO_ADMIN_EMAIL, demo_password, load_demo, print_logins
from portal.demo_panel import APPLICANTS, DEMO_CHAIR_EMAIL, DEMO_MEMBER_EMAIL, MEMBER, SEAT
from portal.tables import (
    Answer,
    Application,
    AuditEvent,
    Criterion,
    PanelConflict,
    PanelMember,
    Question,
    Round,
    Score,
    ScoreSheet,
    Seat,
    Statement,
    Submission,
    User,
)
from tests.conftest import post_form
from tests.factories import run

COUNTED = (
    User,
    Seat,
    Criterion,
    Question,
    Round,
    Application,
    Answer,
    Statement,
    Submission,
    PanelMember,
    PanelConflict,
    ScoreSheet,
    Score,
    AuditEvent,
)


async def _load(settings) -> bool:
    async with db.write_transaction():
        return await load_demo(settings)


async def _counts() -> dict[str, int]:
    return {t.__name__: await t.count() for t in COUNTED}


async def _panel_round() -> dict:
    seat = await Seat.select(Seat.id).where(Seat.slug == SEAT["slug"]).first()
    return await Round.select().where(Round.seat == seat["id"]).first()


@pytest.fixture
def demo(settings):
    assert run(_load(settings)) is True
    return run(_panel_round())


def signed_in(make_client, settings, email: str):
    client = make_client()
    response = post_form(
        client,
        "/account/sign-in",
        {"email": email, "password": demo_password(settings, email)},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text
    return client


def test_loading_twice_adds_nothing(settings, demo):
    before = run(_counts())
    assert before["Seat"] == 4 and before["Application"] == len(APPLICANTS)
    assert run(_load(settings)) is False
    assert run(_counts()) == before


def test_an_install_from_before_the_panel_demo_gets_it_once(settings):
    """The demo admin exists but the panel seat does not: the next `portal demo` adds it."""
    run(_load(settings))

    async def drop_panel_seat() -> None:
        async with db.write_transaction():
            await Application.delete().where(Application.round == (await _panel_round())["id"])
            await Seat.delete().where(Seat.slug == SEAT["slug"])

    run(drop_panel_seat())
    assert run(_load(settings)) is True
    after = run(_counts())
    assert run(_load(settings)) is False
    assert run(_counts()) == after
    assert after["Seat"] == 4


def test_the_panel_round_is_closed_anonymised_in_scoring_and_numbered(demo):
    assert demo["stage"] == "scoring" and demo["anonymised"] is True
    assert demo["scoring_deadline"] > demo["closes_at"]
    numbers = run(
        Application.select(Application.panel_number).where(Application.round == demo["id"])
    )
    assert sorted(r["panel_number"] for r in numbers) == list(range(1, len(APPLICANTS) + 1))


def test_passwords_are_random_per_install_and_printed(settings, demo, capsys):
    chair = demo_password(settings, DEMO_CHAIR_EMAIL)
    member = demo_password(settings, DEMO_MEMBER_EMAIL)
    assert len({chair, member, demo_password(settings, DEMO_ADMIN_EMAIL)}) == 3
    assert (settings.var_dir / "demo_chair_password").stat().st_mode & 0o077 == 0
    print_logins(settings)
    out = capsys.readouterr().out
    assert f"Panel chair: {DEMO_CHAIR_EMAIL} / {chair}" in out
    assert f"Panel member: {DEMO_MEMBER_EMAIL} / {member}" in out
    assert "/account/sign-in" in out


def test_a_wrong_password_does_not_sign_the_demo_chair_in(client, demo):
    response = post_form(
        client,
        "/account/sign-in",
        {"email": DEMO_CHAIR_EMAIL, "password": "not the demo password"},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert client.get("/panel", follow_redirects=False).status_code in (302, 303, 401)


def test_the_demo_chair_sees_the_round_and_can_moderate(make_client, settings, demo):
    chair = signed_in(make_client, settings, DEMO_CHAIR_EMAIL)
    home = chair.get("/panel")
    assert home.status_code == 200
    assert SEAT["title"] in home.text
    link = f"/panel/rounds/{demo['id']}/moderation"
    assert f'href="{link}"' in home.text
    page = chair.get(link)
    assert page.status_code == 200, page.text
    assert "Record an agreed score" in page.text
    assert chair.get(f"/panel/rounds/{demo['id']}/progress").status_code == 200
    queue = chair.get(f"/panel/rounds/{demo['id']}/scoring")
    assert "2 submitted" in queue.text


def test_the_demo_member_sees_numbers_not_names_and_one_withheld(make_client, settings, demo):
    member = signed_in(make_client, settings, DEMO_MEMBER_EMAIL)
    assert "Score applications" in member.get("/panel").text
    queue = member.get(f"/panel/rounds/{demo['id']}/scoring")
    assert queue.status_code == 200
    labels = set(re.findall(r">(Applicant \d+)</a>", queue.text))
    assert len(labels) == len(APPLICANTS) - 1  # one withheld: the declared organisation
    for person in APPLICANTS:
        assert person.name not in queue.text
    withheld = run(
        Application.select(Application.panel_number)
        .where(
            (Application.round == demo["id"]) & (Application.applicant.organisation == MEMBER[1])
        )
        .first()
    )
    hidden = member.get(f"/panel/rounds/{demo['id']}/applications/{withheld['panel_number']}")
    assert hidden.status_code == 404
    shown = re.search(r'href="(/panel/rounds/\d+/applications/\d+)">Applicant', queue.text)
    page = member.get(shown.group(1))
    assert page.status_code == 200
    assert not any(p.name in page.text or p.email in page.text for p in APPLICANTS)
