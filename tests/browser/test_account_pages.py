"""Applicant accounts in a real browser: register, confirm through the mailbox, profile,
sign out and sign in; every page passes axe-core WCAG 2.2 AA."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import axe_check, register_and_confirm

pytestmark = pytest.mark.browser

PASSWORD = "browser applicant password"


def test_register_confirm_profile_sign_out_and_in(page, live_server):
    address = "rae.browser@example.org"
    mailbox = live_server.var_dir / "mailbox"
    register_and_confirm(page, mailbox, "Rae Browser", address, PASSWORD)

    page.get_by_label("Contact phone (optional)").fill("not a phone")
    page.get_by_role("button", name="Save profile").click()
    assert "Enter a phone number" in page.get_by_role("alert").inner_text()
    axe_check(page)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/account/sign-in?signed_out=1")
    axe_check(page)
    page.locator("#email").fill(address)
    page.locator("#password").fill("wrong password for sure")
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert "The email address or password is not right." in page.get_by_role("alert").inner_text()
    axe_check(page)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/account/profile")


def test_reset_request_and_link_pages_pass_axe(page):
    page.goto("/account/reset")
    axe_check(page)
    page.get_by_role("button", name="Send the link").click()
    assert "Enter the email address of your account." in page.get_by_role("alert").inner_text()
    axe_check(page)
    page.goto("/account/link/not-a-real-token")
    expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    axe_check(page)
