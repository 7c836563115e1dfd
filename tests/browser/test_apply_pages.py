"""The apply journey in Chromium on a phone-sized screen: sign in, start an application on
an open round like the demo's, save a draft with an answer over its word limit (the error
summary shows), fix it, upload a small PDF, review, submit, read the receipt and open My
applications. Every page on the way passes axe-core WCAG 2.2 AA.

The seat, its round and the applicant are seeded in a subprocess on the live server's
own database (the server is a subprocess too; see conftest)."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import OPEN_ROUND_SEED, axe_check, on_live_db, upload_cv

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

PASSWORD = "browser apply password"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def open_round(live_server) -> tuple[int, str]:
    """(round id, applicant email) on the live server's database."""
    round_id, email = on_live_db(live_server, OPEN_ROUND_SEED, PASSWORD).split()
    return int(round_id), email


def test_apply_journey_on_a_phone_passes_axe_at_every_step(page, open_round):
    round_id, email = open_round
    page.set_viewport_size(PHONE)

    # Sign in.
    page.goto(f"/account/sign-in?next=/applications/start/{round_id}")
    axe_check(page)
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r".*/account/profile|.*/applications/start/\d+"))

    # The start page.
    page.goto(f"/applications/start/{round_id}")
    expect(page.get_by_role("heading", name="Apply for Community voice seat")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Start your application").click()
    page.wait_for_url(re.compile(r".*/applications/\d+$"))
    application_path = re.sub(r"^https?://[^/]+", "", page.url)
    expect(
        page.get_by_role("heading", name="Your application: Community voice seat")
    ).to_be_visible()
    axe_check(page)

    # A draft with an answer over its word limit: saved, and the summary names the problem.
    question = page.get_by_label(re.compile(r"^Question 1: Why do you want this seat\?"))
    question.fill("one two three four five six seven eight nine ten eleven twelve")
    page.get_by_label("Your statement for “Lived experience”").fill("Ten years of it.")
    page.get_by_role("button", name="Save draft").click()
    summary = page.get_by_role("region", name="Before you can submit")
    assert "has 12 words; the limit is 10" in summary.inner_text()
    axe_check(page)

    # Fixed, it saves; what was entered is still there.
    question = page.get_by_label(re.compile(r"^Question 1: Why do you want this seat\?"))
    assert "twelve" in question.input_value()
    question.fill("Because I lead a community organisation")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").get_by_text("Your draft is saved.")).to_be_visible()
    expect(page.get_by_role("region", name="Before you can submit")).to_have_count(0)
    axe_check(page)

    # Upload a small PDF as the CV.
    upload_cv(page, "my cv.pdf")
    expect(page.get_by_role("link", name="my cv.pdf")).to_be_visible()
    axe_check(page)

    # Review, then submit.
    page.goto(application_path)
    page.get_by_role("link", name="Check and submit your application").click()
    page.wait_for_url("**/review")
    expect(
        page.get_by_role("heading", name="Check your application: Community voice seat")
    ).to_be_visible()
    assert "Still to do" not in page.inner_text("main")
    axe_check(page)
    page.get_by_role("button", name="Submit your application").click()
    page.wait_for_url("**/receipt")

    # The receipt.
    main = page.get_by_role("main").inner_text()
    expect(page.get_by_role("heading", name="Application received")).to_be_visible()
    reference = re.search(r"SP-\d{4}-[2-9A-Z]{6}", main)
    assert reference, main
    assert "(UK time)" in main and " UTC" in main
    assert re.search(r"\b[0-9a-f]{64}\b", main)
    axe_check(page)

    # My applications shows it, submitted.
    page.get_by_role("link", name="Go to My applications").click()
    page.wait_for_url("**/applications")
    listing = page.get_by_role("main").inner_text()
    assert "Community voice seat" in listing and reference.group(0) in listing
    assert "Submitted" in listing
    axe_check(page)
