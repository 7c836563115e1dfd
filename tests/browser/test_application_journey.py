"""The whole application journey of issue 3 in one Chromium session, as a new applicant:
register, confirm through the link read from the live server's mailbox, start an
application on an open round, save a draft, upload a PDF, review, submit, read the
receipt on the page and in the mailbox; then the round closes, and the application is
read-only and every late write (a save and a "submit your changes" from tabs opened
before the close) is refused with a page that states the closing time. Every page
visited passes axe-core WCAG 2.2 AA.

The round is seeded, and later closed, in a subprocess on the live server's own
database, as in the other browser tests (the server is a subprocess too; see conftest).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from portal.domain.timerules import format_instant
from tests.browser.helpers import (
    OPEN_ROUND_SEED,
    PDF,
    axe_check,
    mail_containing,
    on_live_db,
    register_and_confirm,
    upload_cv,
)

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

PASSWORD = "browser journey password"
SEAT = "Community voice seat"
ZONE = "Europe/London"  # the seeded round's zone (the Round default)

# Close the round the way time would: its closing time in the past and no grace left,
# so the next write is decided late by the same rule the server applies.
CLOSE = r"""
import sys
from datetime import datetime
from portal.tables import Round
from tests.factories import connect, write

connect()
closes_at, round_id = datetime.fromisoformat(sys.argv[2]), int(sys.argv[1])
write(lambda: Round.update({Round.closes_at: closes_at, Round.grace_minutes: 0}).where(
    Round.id == round_id))
"""


def _posted(response) -> bool:
    return response.request.method == "POST"


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_register_apply_submit_then_refused_after_the_deadline(page, live_server):
    round_id = int(on_live_db(live_server, OPEN_ROUND_SEED, "unused seed password").split()[0])
    address = f"journey-{time.time_ns()}@example.org"
    mailbox = live_server.var_dir / "mailbox"

    # Register, and confirm through the link in the mailbox.
    register_and_confirm(page, mailbox, "Jo Journey", address, PASSWORD)

    # Start an application on the open round.
    page.goto(f"/applications/start/{round_id}")
    expect(page.get_by_role("heading", name=f"Apply for {SEAT}")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Start your application").click()
    page.wait_for_url(re.compile(r".*/applications/\d+$"))
    application_path = _path(page.url)
    expect(page.get_by_role("heading", name=f"Your application: {SEAT}")).to_be_visible()
    axe_check(page)

    # Save a draft.
    question = page.get_by_label(re.compile(r"^Question 1: Why do you want this seat\?"))
    question.fill("Because I lead a community organisation")
    page.get_by_label("Your statement for “Lived experience”").fill("Ten years of it.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").get_by_text("Your draft is saved.")).to_be_visible()
    axe_check(page)

    # Upload a small PDF as the CV.
    upload_cv(page, "journey cv.pdf")
    axe_check(page)

    # Review, then submit.
    page.goto(application_path)
    page.get_by_role("link", name="Check and submit your application").click()
    page.wait_for_url("**/review")
    expect(page.get_by_role("heading", name=f"Check your application: {SEAT}")).to_be_visible()
    assert "Still to do" not in page.inner_text("main")
    axe_check(page)
    page.get_by_role("button", name="Submit your application").click()
    page.wait_for_url("**/receipt")

    # The receipt on the page: reference, the time in the round's zone and in UTC, the hash.
    expect(page.get_by_role("heading", name="Application received")).to_be_visible()
    receipt_text = page.get_by_role("main").inner_text()
    reference = re.search(r"SP-\d{4}-[2-9A-Z]{6}", receipt_text)
    content_hash = re.search(r"\b[0-9a-f]{64}\b", receipt_text)
    assert reference and content_hash, receipt_text
    assert "(UK time)" in receipt_text and " UTC" in receipt_text
    axe_check(page)

    # The same receipt in the mailbox.
    receipt_mail, body = mail_containing(mailbox, address, reference.group(0))
    assert reference.group(0) in str(receipt_mail["Subject"])
    assert f"SHA-256 of what you submitted: {content_hash.group(0)}" in body
    assert PASSWORD not in body

    # Before the close, three more tabs: in one the applicant changes an answer and gets as
    # far as "Submit your changes"; the others hold the form and the upload form, for later.
    submit_tab = page.context.new_page()
    submit_tab.goto(application_path)
    submit_tab.get_by_label(re.compile(r"^Question 1: Why do you want this seat\?")).fill(
        "Because I lead a community organisation well"
    )
    submit_tab.get_by_role("button", name="Save and check your application").click()
    submit_tab.wait_for_url("**/review")
    expect(submit_tab.get_by_role("button", name="Submit your changes")).to_be_visible()
    axe_check(submit_tab)
    save_tab = page.context.new_page()
    save_tab.goto(application_path)
    expect(save_tab.get_by_role("button", name="Save draft")).to_be_visible()
    axe_check(save_tab)
    upload_tab = page.context.new_page()
    upload_tab.goto(f"{application_path}/documents")
    expect(upload_tab.get_by_role("button", name="Upload CV")).to_be_visible()
    axe_check(upload_tab)

    # The round closes.
    closes_at = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    on_live_db(live_server, CLOSE, str(round_id), closes_at.isoformat())
    closing = format_instant(closes_at, ZONE)

    # A late "Submit your changes" is refused, stating the closing time.
    with submit_tab.expect_response(_posted) as late_submit:
        submit_tab.get_by_role("button", name="Submit your changes").click()
    assert late_submit.value.status == 409
    expect(
        submit_tab.get_by_role("heading", name="Your application was not submitted")
    ).to_be_visible()
    assert f"This round closed at {closing}." in submit_tab.get_by_role("alert").inner_text()
    axe_check(submit_tab)

    # A late save from the form loaded before the close is refused too, and nothing changes.
    save_tab.get_by_label(re.compile(r"^Question 1: Why do you want this seat\?")).fill(
        "A late change that must not count"
    )
    with save_tab.expect_response(_posted) as late_save:
        save_tab.get_by_role("button", name="Save draft").click()
    assert late_save.value.status == 409
    expect(save_tab.get_by_role("alert")).to_contain_text(f"This round closed at {closing}.")
    axe_check(save_tab)

    # A late upload from the documents page loaded before the close: refused before reading.
    upload_tab.get_by_label("Your CV", exact=True).set_input_files(
        {"name": "late cv.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    with upload_tab.expect_response(_posted) as late_upload:
        upload_tab.get_by_role("button", name="Upload CV").click()
    assert late_upload.value.status == 409
    expect(upload_tab.get_by_role("main")).to_contain_text(f"This round closed at {closing}.")
    axe_check(upload_tab)

    # The application page is now read-only and states the closing time.
    page.goto(application_path)
    main = page.get_by_role("main")
    expect(main).to_contain_text(
        "The closing time has passed, so your application can no longer be changed."
    )
    expect(main).to_contain_text(f"Closing time: {closing}.")
    expect(page.get_by_role("button", name="Save draft")).to_have_count(0)
    assert "A late change that must not count" not in main.inner_text()
    assert "late cv.pdf" not in main.inner_text() and "journey cv.pdf" in main.inner_text()
    axe_check(page)

    # The review page offers no submit, and the receipt still stands.
    page.goto(f"{application_path}/review")
    expect(page.get_by_role("button", name=re.compile("Submit"))).to_have_count(0)
    axe_check(page)
    page.goto(f"{application_path}/receipt")
    expect(page.get_by_role("main")).to_contain_text(reference.group(0))
    expect(page.get_by_role("main")).to_contain_text(content_hash.group(0))
    axe_check(page)
