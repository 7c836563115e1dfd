"""Public home and admin sign-in in a real browser; every page passes axe-core WCAG 2.2 AA."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_NAME
from tests.browser.helpers import axe_check, sign_in

pytestmark = pytest.mark.browser


def test_home_page_lists_seats_and_passes_axe(page):
    page.goto("/")

    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.get_by_role("link", name="Skip to main content").count() == 1
    axe_check(page)


def test_sign_in_page_passes_axe(page):
    page.goto("/admin/sign-in")

    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    axe_check(page)


def test_failed_sign_in_shows_error_summary_and_passes_axe(page):
    sign_in(page, ADMIN_EMAIL, "not the right password")

    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert "The email address or password is not right." in summary.inner_text()
    assert page.get_by_label("Email address").input_value() == ADMIN_EMAIL  # kept for the retry
    axe_check(page)


def test_sign_in_opens_the_dashboard_and_it_passes_axe(page):
    sign_in(page)

    page.wait_for_url("**/admin")
    assert f"Signed in as {ADMIN_NAME}" in page.locator("main").inner_text()
    axe_check(page)


def test_axe_check_fails_on_a_page_with_violations(page):
    # Guards the guard: a missing alt text and language must not pass unnoticed.
    page.set_content('<html><body><main><img src="/static/none.png"></main></body></html>')

    with pytest.raises(pytest.fail.Exception) as failure:
        axe_check(page)

    assert "image-alt" in str(failure.value) and "html-has-lang" in str(failure.value)
