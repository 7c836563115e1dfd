"""Moderation and shortlist pages in a real browser: the chair's moderation table, the
agreed-score form (and its error summary), the shortlist proposal, and the admin's
confirmation page pass axe-core WCAG 2.2 AA, work by their visible labels without
JavaScript, and fit a 375 px wide screen (the wide tables scroll inside their region)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _server_env, axe_check, sign_in
from tests.browser.test_panel_scoring_pages import sign_in_member

pytestmark = pytest.mark.browser

SEED = r"""
import asyncio, sys
from portal import db
from portal.settings import Settings
from portal.tables import Score, ScoreSheet
from tests.factories import add_application, add_panel_member, make_round, now

async def main(tag):
    db.bind(db.engine_for(Settings.from_env()))
    setup = await make_round(stage="scoring", slug=f"moderation-{tag}")
    for i in range(3):
        await add_application(
            setup, email=f"mod{i}-{tag}@example.org", name=f"Hidden Name {i}",
            panel_number=i + 1,
        )
    _, m1 = await add_panel_member(setup, email=f"mm1-{tag}@example.org", name="Mo Member")
    _, m2 = await add_panel_member(setup, email=f"mm2-{tag}@example.org", name="Max Member")
    await add_panel_member(setup, email=f"mchair-{tag}@example.org", name="Chris Chair", role="chair")
    marks = {m1: [[4, 1], [3, 3], [1, 1]], m2: [[1, 1], [3, 3], [1, 1]]}
    async with db.write_transaction():
        for member, rows in marks.items():
            for app, values in zip(setup.applications, rows):
                sheet = await ScoreSheet.insert(
                    ScoreSheet(member=member, application=app, submitted_at=now())
                ).returning(ScoreSheet.id)
                for criterion, value in zip(setup.criteria, values):
                    await Score.insert(Score(sheet=sheet[0]["id"], criterion=criterion, value=value))
    print(setup.round_id, *setup.applications)

asyncio.run(main(sys.argv[1]))
"""


@pytest.fixture
def seeded(live_server) -> tuple[str, int, list[int]]:
    tag = f"{time.time_ns()}"
    env = _server_env(live_server.var_dir.parent, 0)
    done = subprocess.run(
        [sys.executable, "-c", SEED, tag], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    round_id, *apps = (int(x) for x in done.stdout.split())
    return tag, round_id, apps


def fits_the_screen(page) -> None:
    """Nothing but the tables' own scroll regions is wider than the screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width}px wide at 375px"


def test_chair_moderates_and_proposes_then_admin_confirms(page, chromium, live_server, seeded):
    tag, round_id, apps = seeded
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_member(page, f"mchair-{tag}@example.org")
    page.goto(f"/panel/rounds/{round_id}/moderation")
    table = page.get_by_role("table", name="3 applications, highest weighted total first")
    expect(table).to_be_visible()
    expect(table).to_contain_text("Yes: Criterion 1 (spread 3)")
    assert "Hidden Name" not in page.content()
    fits_the_screen(page)
    axe_check(page)

    page.get_by_role("link", name="Record an agreed score for Applicant 1").click()
    page.get_by_role("button", name="Save the agreed score").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose one of the criteria")
    fits_the_screen(page)
    axe_check(page)

    page.get_by_role("group", name="Criterion").get_by_label("Criterion 1").check()
    page.get_by_label("Agreed score").fill("3")
    page.get_by_label("Rationale").fill("Discussed at the moderation meeting.")
    page.get_by_role("button", name="Save the agreed score").click()
    expect(page.get_by_role("status")).to_contain_text("The agreed score is saved")

    page.goto(f"/panel/rounds/{round_id}/shortlist")
    page.get_by_label("The top applications, by number").check()
    page.get_by_label("How many (for the top applications)").fill("1")
    page.get_by_role("button", name="Propose the shortlist").click()
    expect(page.get_by_role("status")).to_contain_text("The shortlist proposal is saved")
    expect(page.get_by_role("table", name="Proposed shortlist")).to_contain_text("Applicant")
    fits_the_screen(page)
    axe_check(page)

    page.get_by_label("Lowest total (for everyone at or above it)").fill("abc")
    page.get_by_label("Everyone at or above a total").check()
    page.get_by_role("button", name="Propose again").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter the lowest total")
    axe_check(page)

    page.context.clear_cookies()
    sign_in(page)
    page.goto(f"/admin/rounds/{round_id}/shortlist")
    expect(page.get_by_role("table", name="Proposed shortlist")).to_contain_text("Hidden Name")
    fits_the_screen(page)
    axe_check(page)
    page.get_by_role("button", name="Confirm the shortlist").click()
    expect(page.get_by_role("status")).to_contain_text("The shortlist is confirmed")
    axe_check(page)
