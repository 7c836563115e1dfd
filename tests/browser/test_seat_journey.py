"""The whole admin journey in a real browser: sign in, create a seat with criteria,
publish it, create a round and open it now; the public pages then show the seat.
Every page on the way passes axe-core WCAG 2.2 AA.

It finds everything by its visible label or role, as a person would; the labels it
relies on are listed in the lead's notes for the admin seat and round pages.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import axe_check, sign_in

pytestmark = pytest.mark.browser

LONDON = ZoneInfo("Europe/London")


def _london_date(days_from_now: int) -> str:
    return (datetime.now(LONDON) + timedelta(days=days_from_now)).strftime("%Y-%m-%d")


def test_admin_creates_seat_and_round_and_public_page_shows_it(page):
    title = f"Youth justice lived-experience seat {uuid.uuid4().hex[:6]}"
    sign_in(page)
    page.wait_for_url("**/admin")

    # The seat list, then the new-seat form.
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Seats").click()
    page.wait_for_url("**/admin/seats")
    axe_check(page)
    page.get_by_role("link", name="Create a seat").click()
    expect(page.get_by_role("heading", name="Create a seat", level=1)).to_be_visible()
    axe_check(page)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Summary").fill(
        "A voice for young people with experience of the justice system."
    )
    page.get_by_label("Full description").fill(
        "The member brings lived experience to the advisory group."
    )
    page.get_by_label("Who can apply").fill("Leaders of youth-led organisations.")
    page.get_by_label("Who the seat represents").fill(
        "Young people in contact with the justice system."
    )
    page.get_by_label("Time commitment").fill("Four meetings a year.")
    page.get_by_label("Remuneration and expenses").fill("Travel expenses and a day rate.")
    page.get_by_label("Location").fill("London or online.")
    page.get_by_label("How to apply").fill("Apply through this portal.")
    page.get_by_role("button", name="Create seat").click()

    # The seat's own page: add a criterion and a question, then publish.
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.get_by_role("status").get_by_text("The seat was created")).to_be_visible()
    axe_check(page)
    criterion_form = page.get_by_role("group", name="Add a criterion")
    criterion_form.get_by_label("Criterion").fill("Lived experience")
    criterion_form.get_by_label("Guidance for applicants").fill(
        "Show how your experience shapes your work."
    )
    criterion_form.get_by_label("Weight").fill("2")
    criterion_form.get_by_role("button", name="Add criterion").click()
    expect(page.get_by_role("rowheader", name="Lived experience")).to_be_visible()
    question_form = page.get_by_role("group", name="Add a question")
    question_form.get_by_label("Question", exact=True).fill("Why do you want this seat?")
    question_form.get_by_label("Word limit").fill("250")
    question_form.get_by_role("button", name="Add question").click()
    expect(page.get_by_role("rowheader", name="Why do you want this seat?")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status").get_by_text("The seat is published")).to_be_visible()
    # A round that opens tomorrow, then opened now.
    page.get_by_role("link", name="Create a round").first.click()
    expect(page.get_by_role("heading", name="Create a round", level=1)).to_be_visible()
    axe_check(page)
    opens = page.get_by_role("group", name="Opens")
    opens.get_by_label("Date").fill(_london_date(1))
    opens.get_by_label("Time").fill("09:00")
    closes = page.get_by_role("group", name="Closes")
    closes.get_by_label("Date").fill(_london_date(14))
    closes.get_by_label("Time").fill("10:00")
    page.get_by_role("button", name="Create round").click()
    expect(page.get_by_role("heading", name=f"of {title}", level=1)).to_be_visible()
    expect(page.get_by_role("status").get_by_text("The round was created")).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name="Open now").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Open round")
    axe_check(page)
    page.get_by_role("button", name="Open now").click()
    expect(page.get_by_role("alert")).to_contain_text("Tick the box")
    axe_check(page)
    page.get_by_label("Yes, open this round now and lock its criteria and questions").check()
    page.get_by_role("button", name="Open now").click()
    expect(page.get_by_role("status").get_by_text("The round is open now")).to_be_visible()
    axe_check(page)

    # The public list shows it as open; its page shows the deadline and the criterion.
    page.goto("/")
    open_now = page.get_by_role("region", name="Open now")
    open_now.get_by_role("link", name=title).click()
    axe_check(page)
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", name=title, level=1)).to_be_visible()
    assert "Apply by" in main.inner_text()
    assert "10am" in main.inner_text()
    expect(main.get_by_role("heading", name="Lived experience")).to_be_visible()
