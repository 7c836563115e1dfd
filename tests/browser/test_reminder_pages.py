"""Reminder pages in a real browser, each passing axe-core WCAG 2.2 AA: the admin's schedule
form (with an error) on the round page, and the opt-out pages from a reminder's link."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from portal.domain.reminders.optout import unsubscribe_token
from tests.browser.conftest import ADMIN_EMAIL
from tests.browser.helpers import axe_check, sign_in

pytestmark = pytest.mark.browser

SECRET = "browser-test-secret-" + "x" * 40  # the live server's PORTAL_SECRET_KEY
LONDON = ZoneInfo("Europe/London")


def _london_date(days_from_now: int) -> str:
    return (datetime.now(LONDON) + timedelta(days=days_from_now)).strftime("%Y-%m-%d")


def test_schedule_form_shows_an_error_and_saves(page):
    sign_in(page)
    page.wait_for_url("**/admin")
    page.goto("/admin/seats/new")
    page.get_by_label("Title").fill(f"Reminder seat {uuid.uuid4().hex[:6]}")
    page.get_by_role("button", name="Create seat").click()
    expect(page.get_by_role("status").get_by_text("The seat was created")).to_be_visible()
    page.get_by_role("link", name="Create a round").first.click()
    page.get_by_role("group", name="Opens").get_by_label("Date").fill(_london_date(1))
    page.get_by_role("group", name="Opens").get_by_label("Time").fill("09:00")
    page.get_by_role("group", name="Closes").get_by_label("Date").fill(_london_date(14))
    page.get_by_role("group", name="Closes").get_by_label("Time").fill("10:00")
    page.get_by_role("button", name="Create round").click()
    expect(page.get_by_role("heading", name="Reminders", level=2)).to_be_visible()

    field = page.get_by_label("Hours before the deadline to remind applicants with a draft")
    field.fill("abc")
    page.get_by_role("button", name="Save the reminder schedule").click()
    expect(page.get_by_role("alert")).to_contain_text("is not a whole number of hours")
    axe_check(page)

    page.get_by_label("Hours before the deadline to remind applicants with a draft").fill("72,3")
    page.get_by_role("button", name="Save the reminder schedule").click()
    expect(
        page.get_by_role("status").get_by_text("The reminder schedule was saved")
    ).to_be_visible()
    axe_check(page)


def test_opt_out_pages_pass_axe(page, live_server):
    database = live_server.var_dir.parent / "portal.sqlite3"
    with sqlite3.connect(database) as conn:
        (user_id,) = conn.execute(
            "SELECT id FROM portal_user WHERE email = ?", (ADMIN_EMAIL,)
        ).fetchone()
    page.goto(f"/reminders/unsubscribe/{unsubscribe_token(SECRET, user_id)}")
    expect(page.get_by_role("heading", name="Stop deadline reminders?", level=1)).to_be_visible()
    axe_check(page)

    page.get_by_role("button", name="Stop reminders").click()
    expect(
        page.get_by_role("heading", name="You will no longer get reminders", level=1)
    ).to_be_visible()
    axe_check(page)

    page.get_by_role("button", name="Turn reminders back on").click()
    expect(page.get_by_role("status").get_by_text("Reminders are on again")).to_be_visible()
    axe_check(page)
