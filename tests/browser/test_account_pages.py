"""Applicant accounts in a real browser: register, confirm through the mailbox, profile,
sign out and sign in; every page passes axe-core WCAG 2.2 AA."""

from __future__ import annotations

import email
import re
import time
from email import policy
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_check

pytestmark = pytest.mark.browser

PASSWORD = "browser applicant password"


def link_from_mailbox(folder: Path, recipient: str, path: str, timeout: float = 20.0) -> str:
    """The newest link to `path` in a mail to `recipient`, as the embedded worker delivered it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for file in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(file.read_bytes(), policy=policy.default)
            if recipient not in str(message["To"]):
                continue
            body = message.get_body(preferencelist=("plain",)).get_content()
            match = re.search(rf"https?://[^/\s]+({re.escape(path)}[A-Za-z0-9_\-]+)", body)
            if match:
                return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no mail to {recipient} with a {path} link in {folder}")


def test_register_confirm_profile_sign_out_and_in(page, live_server):
    address = "rae.browser@example.org"
    page.goto("/account/register")
    axe_check(page)
    page.get_by_label("Your name").fill("Rae Browser")
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email", level=1)).to_be_visible()
    axe_check(page)

    page.goto(link_from_mailbox(live_server.var_dir / "mailbox", address, "/account/verify/"))
    axe_check(page)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Type the password again").fill(PASSWORD)
    page.get_by_role("button", name="Confirm and sign in").click()
    page.wait_for_url("**/account/profile?welcome=1")
    assert "Your email address is confirmed" in page.inner_text("main")
    axe_check(page)

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
