"""The shortlist pack and the outcome letters in a real browser: every page passes axe-core
WCAG 2.2 AA, the pack prints without the site's navigation, and the preview shows the
HTML letter rendered (sandboxed) before "Send" is pressed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import axe_check, sign_in, sign_in_account

pytestmark = pytest.mark.browser

SEED = "outcomes"  # in tests/browser/seeds.py, for the `seeded` fixture


def test_pack_is_accessible_and_prints_without_navigation(page, seeded):
    tag, round_id, apps = seeded
    sign_in_account(page, f"pat{round_id}@panel.example")
    page.goto(f"/panel/rounds/{round_id}/pack")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Shortlist pack")
    axe_check(page)
    page.set_viewport_size({"width": 375, "height": 800})
    axe_check(page)
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".pack-contents")).to_be_hidden()
    breaks = page.locator(".pack-application").evaluate_all(
        "els => els.map(e => getComputedStyle(e).breakBefore)"
    )
    assert breaks == ["auto", "page"]


def test_admin_previews_and_sends_letters(page, seeded):
    tag, round_id, (first, second, unlisted) = seeded
    sign_in(page)
    page.goto(f"/admin/rounds/{round_id}/outcomes")
    axe_check(page)

    shortlisting = page.locator("form").filter(has=page.locator("input[value=shortlisting]"))
    shortlisting.get_by_label("Feedback for Cara Doyle (optional)").fill("x" * 5001)
    shortlisting.get_by_role("button", name="Preview the letters").click()
    expect(page.get_by_role("alert")).to_contain_text("Keep the feedback to 5,000 characters")
    axe_check(page)

    shortlisting = page.locator("form").filter(has=page.locator("input[value=shortlisting]"))
    shortlisting.get_by_label("Feedback for Cara Doyle (optional)").fill(
        "Give more examples of leadership."
    )
    shortlisting.get_by_role("button", name="Preview the letters").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check 3 letters before sending")
    frame = page.frame_locator("iframe[title='The HTML letter to Cara Doyle, as it will look']")
    expect(frame.locator("body")).to_contain_text("Give more examples of leadership.")
    axe_check(page)

    page.get_by_role("button", name="Send 3 letters").click()
    expect(page.get_by_role("status").first).to_contain_text("3 letters were queued to send.")
    axe_check(page)

    appointment = page.locator("form").filter(has=page.locator("input[value=appointment]"))
    appointment.get_by_role("button", name="Preview the letters").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose the applicant who is appointed.")
    axe_check(page)
    page.get_by_role("link", name="Choose the applicant who is appointed.").click()
    page.get_by_role("group", name="Who is appointed?").get_by_label("Amara Okafor").check()
    appointment = page.locator("form").filter(has=page.locator("input[value=appointment]"))
    appointment.get_by_role("button", name="Preview the letters").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check 2 letters before sending")
    page.set_viewport_size({"width": 375, "height": 800})
    axe_check(page)
    page.get_by_role("button", name="Send 2 letters").click()
    expect(page.get_by_role("status").first).to_contain_text("the round is now decided")
    axe_check(page)

    sign_in_account(page, f"cara@{tag}.example")
    page.goto(f"/applications/{unlisted}")
    expect(page.get_by_role("heading", name="The outcome of your application")).to_be_visible()
    axe_check(page)
