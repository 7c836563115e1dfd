"""Panel membership and conflict pages in a real browser: the admin's panel page (with
its error summary), the invitation page, declarations, the panel home, declaring a
conflict, the chair's conflicts list and the ruling form all pass axe-core WCAG 2.2 AA
and work by their visible labels."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _server_env, axe_check, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

SEED = r"""
import asyncio, sys
from datetime import timedelta
from portal import db
from portal.domain.accounts import hash_token
from portal.settings import Settings
from portal.tables import PanelMember, User
from tests.factories import add_application, add_panel_member, make_round, now

async def main(tag):
    db.bind(db.engine_for(Settings.from_env()))
    setup = await make_round(stage="scoring", slug=f"panel-{tag}")
    for i in range(2):
        await add_application(
            setup, email=f"app{i}-{tag}@example.org", name=f"Hidden Name {i}",
            panel_number=i + 1,
        )
    await add_panel_member(setup, email=f"member-{tag}@example.org", name="Mo Member")
    await add_panel_member(setup, email=f"chair-{tag}@example.org", name="Chris Chair", role="chair")
    await add_panel_member(setup, email=f"new-{tag}@example.org", name="Nia New", ready=False)
    async with db.write_transaction():
        rows = await User.insert(User(email=f"invitee-{tag}@example.org", name="Ivy Invitee", role="applicant")).returning(User.id)
        await PanelMember.insert(PanelMember(
            round=setup.round_id, user=rows[0]["id"], token_hash=hash_token(f"token-{tag}"),
            token_expires_at=now() + timedelta(days=1),
        ))
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
    page.locator("#email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()


def test_admin_panel_page_and_invite_errors_pass_axe(page, seeded):
    tag, round_id, _ = seeded
    sign_in(page)
    page.wait_for_url("**/admin")
    page.goto(f"/admin/rounds/{round_id}")
    page.get_by_role("link", name="Manage the panel").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Panel for round")
    axe_check(page)
    page.get_by_label("Full name").fill("Pat Panel")
    page.get_by_label("Email address").fill("not an address")
    page.get_by_role("button", name="Send invitation", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Enter an email address like")
    axe_check(page)
    page.get_by_role("link", name=re.compile(r"Make chair\W+Mo Member")).click()
    expect(page.get_by_text("Chris Chair chairs this panel now")).to_be_visible()
    axe_check(page)


def test_invitation_page_passes_axe(page, seeded):
    tag, _, _ = seeded
    page.goto(f"/panel/invitations/token-{tag}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Join the panel")
    page.get_by_label("New password").fill("short")
    page.get_by_label("Type the password again").fill("short")
    page.get_by_role("button", name="Set password and join the panel").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 12 characters")
    axe_check(page)
    page.goto("/panel/invitations/not-a-real-token")
    expect(page.get_by_role("heading", level=1)).to_contain_text("cannot be used")
    axe_check(page)


def test_declarations_home_and_conflict_pages_pass_axe(page, seeded):
    tag, round_id, apps = seeded
    sign_in_member(page, f"new-{tag}@example.org")
    page.goto("/panel")
    axe_check(page)
    page.get_by_role("link", name="Make your declarations").click()
    page.get_by_role("button", name="Save my declarations").click()
    expect(page.get_by_role("alert")).to_contain_text("Tick the box")
    axe_check(page)
    page.get_by_label("I agree to the undertaking above").check()
    page.get_by_label("Organisations you work for").fill("Clinks\nNacro")
    page.get_by_role("button", name="Save my declarations").click()
    expect(page.get_by_role("status")).to_contain_text("declarations are saved")
    axe_check(page)
    page.goto(f"/panel/rounds/{round_id}/applications/{apps[0]}/conflict")
    page.get_by_role("button", name="Declare the conflict").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose what kind of conflict")
    axe_check(page)
    page.get_by_label("Personal").check()
    page.get_by_label("Note for the chair (optional)").fill("We worked together.")
    page.get_by_role("button", name="Declare the conflict").click()
    expect(page.get_by_role("status")).to_contain_text("Your conflict is recorded")


def test_chair_conflicts_and_ruling_pass_axe(page, seeded, chromium, live_server):
    tag, round_id, apps = seeded
    member = chromium.new_context(base_url=live_server.url).new_page()
    sign_in_member(member, f"member-{tag}@example.org")
    member.goto(f"/panel/rounds/{round_id}/applications/{apps[1]}/conflict")
    member.get_by_label("Financial").check()
    member.get_by_role("button", name="Declare the conflict").click()
    member.context.close()

    sign_in_member(page, f"chair-{tag}@example.org")
    page.goto(f"/panel/rounds/{round_id}/conflicts")
    expect(page.get_by_role("cell", name="Applicant 2", exact=True)).to_be_visible()
    assert "Hidden Name" not in page.content()
    axe_check(page)
    page.get_by_role("link", name=re.compile(r"Rule minor\W+Mo Member, Applicant 2")).click()
    page.get_by_role("button", name="Rule minor").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter the reason")
    axe_check(page)
    page.get_by_label("Why is this conflict minor?").fill("A small grant that ended.")
    page.get_by_role("button", name="Rule minor").click()
    expect(page.get_by_role("status")).to_contain_text("ruled minor")
    axe_check(page)
