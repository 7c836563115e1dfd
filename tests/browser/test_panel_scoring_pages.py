"""Scoring pages in a real browser: the queue, an application with the score form (and
its error summary), the submitted sheet, and the chair's progress page all pass
axe-core WCAG 2.2 AA, and work by their visible labels without JavaScript."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _server_env, axe_check
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

SEED = r"""
import asyncio, sys
from portal import db
from portal.settings import Settings
from tests.factories import add_application, add_panel_member, make_round

async def main(tag):
    db.bind(db.engine_for(Settings.from_env()))
    setup = await make_round(stage="scoring", slug=f"scoring-{tag}")
    for i in range(2):
        await add_application(
            setup, email=f"app{i}-{tag}@example.org", name=f"Hidden Name {i}",
            panel_number=i + 1, text=f"Answer {i + 1} in my own words.",
        )
    await add_panel_member(setup, email=f"member-{tag}@example.org", name="Mo Member")
    await add_panel_member(setup, email=f"chair-{tag}@example.org", name="Chris Chair", role="chair")
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


def sign_in_member(page, email: str) -> None:
    page.goto("/account/sign-in")
    page.locator("#email").fill(email)  # the page also has a sign-in-link form
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()


def test_member_scores_and_submits_and_chair_sees_progress(page, chromium, live_server, seeded):
    tag, round_id, apps = seeded
    sign_in_member(page, f"member-{tag}@example.org")
    page.goto(f"/panel/rounds/{round_id}/scoring")
    expect(page.get_by_text("0 of 2 scored")).to_be_visible()
    axe_check(page)

    page.get_by_role("link", name="Applicant 1").click()
    page.wait_for_url(f"**/panel/rounds/{round_id}/applications/{apps[0]}")
    assert "Hidden Name" not in page.content()
    axe_check(page)

    page.get_by_role("button", name="Submit score sheet").click()
    expect(page.get_by_role("alert")).to_contain_text("before you submit")
    axe_check(page)

    page.get_by_role("group", name="Criterion 1 (weight 2)").get_by_label(
        "3: Good evidence"
    ).check()
    page.get_by_role("group", name="Criterion 2 (weight 1)").get_by_label(
        "4: Strong evidence"
    ).check()
    page.get_by_label("Comment on “Criterion 1” (optional)").fill("Clear, specific examples.")
    page.get_by_role("button", name="Submit score sheet").click()
    expect(page.get_by_text("Your score sheet is submitted")).to_be_visible()
    axe_check(page)

    chair = chromium.new_context(base_url=live_server.url)
    try:
        chair_page = chair.new_page()
        sign_in_member(chair_page, f"chair-{tag}@example.org")
        chair_page.goto(f"/panel/rounds/{round_id}/progress")
        expect(chair_page.get_by_role("button", name="Close scoring now")).to_be_visible()
        axe_check(chair_page)
    finally:
        chair.close()
