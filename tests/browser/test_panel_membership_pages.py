"""Panel membership and conflict pages in a real browser: the admin's panel page (with
its error summary), the invitation page, declarations, the panel home, declaring a
conflict, the chair's conflicts list and the ruling form all pass axe-core WCAG 2.2 AA
and work by their visible labels."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    axe_check,
    declare_conflict,
    sign_in,
    sign_in_account,
)

pytestmark = pytest.mark.browser

SEED = "panel"  # in tests/browser/seeds.py, for the `seeded` fixture


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
    sign_in_account(page, f"new-{tag}@example.org")
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
    page.goto(f"/panel/rounds/{round_id}/applications/1/conflict")  # Applicant 1
    page.get_by_role("button", name="Declare the conflict").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose what kind of conflict")
    axe_check(page)
    declare_conflict(page, "Personal", "We worked together.")


def test_chair_conflicts_and_ruling_pass_axe(page, seeded, new_context):
    tag, round_id, apps = seeded
    member = new_context().new_page()
    sign_in_account(member, f"member-{tag}@example.org")
    member.goto(f"/panel/rounds/{round_id}/applications/2/conflict")  # Applicant 2
    declare_conflict(member, "Financial")

    sign_in_account(page, f"chair-{tag}@example.org")
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
