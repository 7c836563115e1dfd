"""Scoring pages in a real browser: the queue, an application with the score form (and
its error summary), the submitted sheet, and the chair's progress page all pass
axe-core WCAG 2.2 AA, and work by their visible labels without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import axe_check, sign_in_account

pytestmark = pytest.mark.browser

SEED = "scoring"  # in tests/browser/seeds.py, for the `seeded` fixture


def test_member_scores_and_submits_and_chair_sees_progress(page, new_context, seeded):
    tag, round_id, apps = seeded
    sign_in_account(page, f"member-{tag}@example.org")
    page.goto(f"/panel/rounds/{round_id}/scoring")
    expect(page.get_by_text("0 of 2 scored")).to_be_visible()
    axe_check(page)

    page.get_by_role("link", name="Applicant 1").click()
    page.wait_for_url(f"**/panel/rounds/{round_id}/applications/1")  # the panel number
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
    expect(page.get_by_role("heading", level=1)).to_contain_text("Submit your score sheet")
    axe_check(page)
    page.get_by_role("button", name="Submit score sheet").click()
    expect(page.get_by_text("Your score sheet is submitted")).to_be_visible()
    axe_check(page)

    chair_page = new_context().new_page()
    sign_in_account(chair_page, f"chair-{tag}@example.org")
    chair_page.goto(f"/panel/rounds/{round_id}/progress")
    expect(chair_page.get_by_role("button", name="Close scoring now")).to_be_visible()
    axe_check(chair_page)
