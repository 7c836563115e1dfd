"""What the browser tests do again and again: seed the live server's database, sign in,
read the mailbox, fill the forms more than one journey goes through, check a page.

The fixtures (the live server, Chromium, a page) are in conftest.py; these are plain
functions the tests import from here.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from portal.settings import PROJECT_ROOT
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, server_env
from tests.factories import PASSWORD

expect = pytest.importorskip("playwright.sync_api").expect

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"

# --- the live server's database ----------------------------------------------------------

# Like the demo's open round (args: the applicant's password; prints the round id and
# the applicant's email): a published seat with guidance on its criteria, a required
# question with a word limit and an optional one, open since yesterday for a few days.
OPEN_ROUND_SEED = r"""
import asyncio, sys, time
from datetime import timedelta
from tests.factories import connect, make_round, make_user

async def main(password):
    tag = time.time_ns()
    setup = await make_round(
        title="Community voice seat", slug=f"phone-apply-{tag}",
        summary="A leader from a community-led organisation.",
        criteria=[("Lived experience", "Show how your experience shapes your work.", 2)],
        questions=[("Why do you want this seat?", 10, True), ("Anything else we should know?", 50, False)],
        opens_at=-timedelta(days=1), closes_at=timedelta(days=4), grace_minutes=10,
    )
    email = f"phone-{tag}@example.org"
    await make_user(email, "Pat Phone", password=password)
    print(setup.round_id, email)

connect()
asyncio.run(main(sys.argv[1]))
"""


def _python_on_live_db(live_server: LiveServer, *argv: str) -> str:
    """Run `python *argv` against the live server's database; its standard output.

    A subprocess, because this pytest process binds Piccolo's tables elsewhere."""
    env = server_env(live_server.var_dir.parent, 0)
    done = subprocess.run(
        [sys.executable, *argv],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def on_live_db(live_server: LiveServer, script: str, *args: str) -> str:
    """Run `script` (Python source) with `args` against the live server's database."""
    return _python_on_live_db(live_server, "-c", script, *args)


def seed_round(live_server: LiveServer, name: str, *args: str) -> tuple[str, int, list[int]]:
    """Run the seed `name` of tests/browser/seeds.py with a fresh tag (then `args`):
    (tag, round id, application ids). The tag starts with a letter: it is also used as
    a domain name."""
    tag = f"t{time.time_ns()}"
    output = _python_on_live_db(live_server, "-m", "tests.browser.seeds", name, tag, *args)
    round_id, *apps = (int(x) for x in output.split())
    return tag, round_id, apps


# --- signing in --------------------------------------------------------------------------


def sign_in(page, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    """Sign in as staff the way a person does: by the form's visible labels."""
    page.goto("/admin/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_account(page, email: str, password: str = PASSWORD) -> None:
    """Sign in an account (applicant or panel member) seeded with the factories' password."""
    page.goto("/account/sign-in")
    page.locator("#email").fill(email)  # the page also has a sign-in-link form
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()


def register_and_confirm(page, mailbox: Path, name: str, address: str, password: str) -> None:
    """Register, then confirm through the link in the mail, choosing `password`."""
    page.goto("/account/register")
    axe_check(page)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email", level=1)).to_be_visible()
    axe_check(page)
    page.goto(link_from_mailbox(mailbox, address, "/account/verify/"))
    axe_check(page)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Type the password again").fill(password)
    page.get_by_role("button", name="Confirm and sign in").click()
    page.wait_for_url("**/account/profile?welcome=1")
    assert "Your email address is confirmed" in page.inner_text("main")
    axe_check(page)


# --- the mailbox (the embedded worker writes each mail as an .eml file) ------------------


def _mails_to(folder: Path, recipient: str) -> Iterator[tuple[EmailMessage, str]]:
    """(message, plain text) of each mail to `recipient` in `folder`, newest first."""
    for file in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = email.message_from_bytes(file.read_bytes(), policy=policy.default)
        if recipient in str(message["To"]):
            yield message, message.get_body(preferencelist=("plain",)).get_content()


def _poll(find: Callable[[], object], timeout: float, failure: str):
    """What `find` returns once it is not None, asking until `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = find()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(failure)


def link_from_mailbox(folder: Path, recipient: str, path: str, timeout: float = 20.0) -> str:
    """The newest link to `path` in a mail to `recipient`, as the embedded worker delivered it."""
    pattern = re.compile(rf"https?://[^/\s]+({re.escape(path)}[A-Za-z0-9_\-]+)")

    def find() -> str | None:
        for _, body in _mails_to(folder, recipient):
            if match := pattern.search(body):
                return match.group(1)
        return None

    return _poll(find, timeout, f"no mail to {recipient} with a {path} link in {folder}")


def mail_containing(
    folder: Path, recipient: str, text: str, timeout: float = 20.0
) -> tuple[EmailMessage, str]:
    """The newest mail to `recipient` whose plain text contains `text`: (message, text)."""

    def find() -> tuple[EmailMessage, str] | None:
        return next(((m, body) for m, body in _mails_to(folder, recipient) if text in body), None)

    return _poll(find, timeout, f"no mail to {recipient} containing {text!r} in {folder}")


# --- forms more than one journey fills ---------------------------------------------------


def upload_cv(page, filename: str) -> None:
    """From an application's page: upload a small PDF as the CV."""
    page.get_by_role("link", name="Upload your CV").click()
    page.wait_for_url("**/documents")
    axe_check(page)
    page.get_by_label("Your CV", exact=True).set_input_files(
        {"name": filename, "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Upload CV").click()
    expect(page.get_by_text("Your CV is uploaded.")).to_be_visible()


def declare_conflict(page, kind: str, note: str = "") -> None:
    """On an application's conflict form: choose the kind, add a note, declare it."""
    page.get_by_label(kind).check()
    if note:
        page.get_by_label("Note for the chair (optional)").fill(note)
    page.get_by_role("button", name="Declare the conflict").click()
    expect(page.get_by_role("status")).to_contain_text("Your conflict is recorded")


def record_agreed_score(page, criterion: str, value: int, rationale: str) -> None:
    """On the agreed-score form: choose the criterion, the score and the rationale, save."""
    page.get_by_role("group", name="Criterion").get_by_label(criterion).check()
    page.get_by_label("Agreed score").fill(str(value))
    page.get_by_label("Rationale").fill(rationale)
    page.get_by_role("button", name="Save the agreed score").click()
    expect(page.get_by_role("status")).to_contain_text("The agreed score is saved")


# --- checks on a page --------------------------------------------------------------------


def axe_check(page) -> None:
    """Fail the test with every WCAG 2.2 AA violation axe-core finds on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    if results.violations_count:
        pytest.fail(f"axe-core on {page.url}:\n{results.generate_report()}", pytrace=False)


def fits_the_screen(page, width: int = 375) -> None:
    """Nothing but the tables' own scroll regions is wider than the screen."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width}px wide at {width}px"


PANEL_NUMBERS = r"""
import asyncio, sys
from portal import db
from portal.settings import Settings
from portal.tables import Application

async def main(ids):
    db.bind(db.engine_for(Settings.from_env()))
    rows = await Application.select(Application.id, Application.panel_number).where(
        Application.id.is_in(ids)
    )
    numbers = {r["id"]: r["panel_number"] for r in rows}
    print(" ".join(str(numbers[i]) for i in ids))

asyncio.run(main([int(a) for a in sys.argv[1:]]))
"""


def panel_numbers(live_server: LiveServer, application_ids: list[int]) -> dict[int, int]:
    """Application id -> panel number ("Applicant 7"), which panel URLs carry instead of ids.
    Numbers are shuffled when the round moves to scoring: ask after that."""
    output = on_live_db(live_server, PANEL_NUMBERS, *map(str, application_ids))
    return dict(zip(application_ids, (int(n) for n in output.split()), strict=True))
