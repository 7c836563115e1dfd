"""Moderation and shortlist pages in a real browser: the chair's moderation table, the
agreed-score form (and its error summary), the shortlist proposal, and the admin's
confirmation page pass axe-core WCAG 2.2 AA, work by their visible labels without
JavaScript, and fit a 375 px wide screen (the wide tables scroll inside their region)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    axe_check,
    fits_the_screen,
    record_agreed_score,
    sign_in,
    sign_in_account,
)

pytestmark = pytest.mark.browser

SEED = "moderation"  # in tests/browser/seeds.py, for the `seeded` fixture


def test_chair_moderates_and_proposes_then_admin_confirms(page, seeded):
    tag, round_id, apps = seeded
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_account(page, f"mchair-{tag}@example.org")
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

    record_agreed_score(page, "Criterion 1", 3, "Discussed at the moderation meeting.")

    page.goto(f"/panel/rounds/{round_id}/shortlist")
    # The chair has not scored: each application is short of a sheet, and says from whom.
    coverage = page.get_by_role("heading", name="Is every application scored?")
    expect(coverage).to_be_visible()
    expect(page.get_by_text("3 applications are short of score sheets.")).to_be_visible()
    expect(page.get_by_text("Not yet submitted by: Chris Chair.").first).to_be_visible()
    fits_the_screen(page)
    axe_check(page)
    page.get_by_role("button", name="Record this decision").first.click()
    expect(page.get_by_role("alert")).to_contain_text("Say why")
    axe_check(page)
    for _ in range(3):
        page.get_by_label("Go ahead without these sheets: why").first.fill(
            "The chair moderates and does not score."
        )
        page.get_by_role("button", name="Record this decision").first.click()
        expect(page.get_by_role("status")).to_contain_text("Your decision is recorded")
    expect(
        page.get_by_text("Every application has its score sheets, or a decision")
    ).to_be_visible()
    axe_check(page)
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
