"""Issue 10's applicant journey in Chromium, with axe-core WCAG 2.2 AA at every step:
a newcomer presses a seat's Apply button, registers, confirms through the mailed link
and ends on that seat's application; saves a draft with one answer over its word limit
and finds every answer kept (the long one marked); then a refused upload comes back
with its message beside the file field, and nothing typed is lost.

The round is seeded in a subprocess on the live server's own database (see conftest).
"""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.helpers import _mails_to, _poll, axe_check, on_live_db

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

PASSWORD = "browser destination password"
SEAT = "Seat for the Apply journey"
LONG_ANSWER = "one two three four five six seven eight nine ten eleven twelve"

# A published seat with a 10-word question, an optional one and one criterion, open
# since yesterday; prints the round id and the seat's slug.
SEED = r"""
import asyncio, time
from datetime import timedelta
from tests.factories import connect, make_round

async def main():
    tag = time.time_ns()
    setup = await make_round(
        title="Seat for the Apply journey", slug=f"apply-journey-{tag}",
        criteria=[("Lived experience", "Show how your experience shapes your work.", 2)],
        questions=[("Why do you want this seat?", 10, True), ("Anything else?", 50, False)],
        opens_at=-timedelta(days=1), closes_at=timedelta(days=4), grace_minutes=10,
    )
    print(setup.round_id, f"apply-journey-{tag}")

connect()
asyncio.run(main())
"""


def mailed_link(folder, recipient: str, path: str) -> str:
    """The newest link to `path` in a mail to `recipient`, with its query (`next`, `sig`)."""
    pattern = re.compile(rf"https?://[^/\s]+({re.escape(path)}\S+)")

    def find() -> str | None:
        for _, body in _mails_to(folder, recipient):
            if match := pattern.search(body):
                return match.group(1)
        return None

    return _poll(find, 20, f"no mail to {recipient} with a {path} link")


def test_apply_button_to_the_application_then_a_long_answer_and_a_refused_upload(page, live_server):
    round_id, slug = on_live_db(live_server, SEED).split()
    address = f"apply-{time.time_ns()}@example.org"

    # The seat's Apply button, signed out: asked to sign in or create an account.
    page.goto(f"/seats/{slug}")
    axe_check(page)
    page.get_by_role("link", name=f"Apply for {SEAT}").click()
    expect(page.get_by_role("link", name="Create an account")).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name="Create an account").click()
    axe_check(page)
    page.get_by_label("Your name").fill("Ngozi Newcomer")
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email", level=1)).to_be_visible()
    axe_check(page)

    # The mailed link confirms the address and leads back to the seat's application.
    page.goto(mailed_link(live_server.var_dir / "mailbox", address, "/account/verify/"))
    axe_check(page)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Type the password again").fill(PASSWORD)
    page.get_by_role("button", name="Confirm and sign in").click()
    page.wait_for_url(f"**/applications/start/{round_id}")
    expect(page.get_by_role("heading", name=f"Apply for {SEAT}")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Start your application").click()
    page.wait_for_url(re.compile(r".*/applications/\d+$"))
    application_url = page.url
    expect(page.get_by_role("heading", name=f"Your application: {SEAT}")).to_be_visible()
    axe_check(page)

    # One answer over its limit: the draft is saved all the same, the answer marked.
    first = page.get_by_label(re.compile(r"^Question 1: Why do you want this seat\?"))
    first.fill(LONG_ANSWER)
    page.get_by_label(re.compile(r"^Question 2 \(optional\)")).fill("I chair a tenants' group.")
    page.get_by_label("Your statement for “Lived experience”").fill("Twenty years of organising.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").first).to_contain_text("Your draft is saved.")
    expect(page.locator("#question_" + _question_id(page, 1) + "-error")).to_contain_text(
        "has 12 words; the limit is 10"
    )
    expect(first).to_have_value(LONG_ANSWER)
    expect(page.get_by_label(re.compile(r"^Question 2 \(optional\)"))).to_have_value(
        "I chair a tenants' group."
    )
    expect(page.get_by_label("Your statement for “Lived experience”")).to_have_value(
        "Twenty years of organising."
    )
    assert "Before you can submit" in page.inner_text("main")
    axe_check(page)

    # A file that is not a PDF, DOCX or ODT: refused, beside the file field.
    page.get_by_role("link", name="Upload your CV").click()
    page.wait_for_url("**/documents")
    axe_check(page)
    page.get_by_label("Your CV", exact=True).set_input_files(
        {"name": "cv.pdf", "mimeType": "application/pdf", "buffer": b"just some text, no PDF"}
    )
    page.get_by_role("button", name="Upload CV").click()
    expect(page.locator("#cv-file-error")).to_contain_text("not a PDF, DOCX or ODT")
    expect(page.get_by_label("Your CV", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("not a PDF, DOCX or ODT")
    axe_check(page)

    # Every answer is still there.
    page.goto(application_url)
    expect(first).to_have_value(LONG_ANSWER)
    expect(page.get_by_label("Your statement for “Lived experience”")).to_have_value(
        "Twenty years of organising."
    )
    axe_check(page)


def _question_id(page, number: int) -> str:
    """The id of question `number`'s text area (its name is question_<id>)."""
    label = page.get_by_label(re.compile(rf"^Question {number}\b"))
    return label.get_attribute("id").removeprefix("question_")
