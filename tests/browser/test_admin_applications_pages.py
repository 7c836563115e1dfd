"""Admin application pages in a real browser: list, detail and the extension form's errors
all pass axe-core WCAG 2.2 AA. Data is seeded through the domain in a subprocess, on the
live server's own database (the server is a subprocess too; see conftest)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import axe_check, on_live_db, sign_in

pytestmark = pytest.mark.browser

SEED = r"""
import asyncio, hashlib
from datetime import timedelta
from portal import db
from portal.settings import Settings
from portal.domain.applications.drafts import save_answers, save_document, start_application
from portal.domain.applications.submission import submit_application
from portal.domain.timerules import utcnow
from portal.tables import Criterion, Question, Round, Seat, User

async def main():
    db.bind(db.engine_for(Settings.from_env()))
    now = utcnow()
    async with db.write_transaction():
        seat = (await Seat.insert(Seat(slug=f"a11y-{now.timestamp()}", title="Accessibility seat", published=True)).returning(Seat.id))[0]["id"]
        q = (await Question.insert(Question(seat=seat, position=1, prompt="Why you?", word_limit=50)).returning(Question.id))[0]["id"]
        c = (await Criterion.insert(Criterion(seat=seat, position=1, title="Lived experience")).returning(Criterion.id))[0]["id"]
        r = (await Round.insert(Round(seat=seat, opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=3))).returning(Round.id))[0]["id"]
        u = (await User.insert(User(email=f"a11y-{now.timestamp()}@example.org", name="Ama Applicant", role="applicant", organisation="Equity Network", adjustments="Large print")).returning(User.id))[0]["id"]
    async with db.write_transaction():
        a = await start_application(u, r, utcnow())
        await save_answers(a, u, {q: "Because"}, {c: "Years of it"}, utcnow())
        cv = b"%PDF-1.7\n" + b"x" * 50
        await save_document(a, u, kind="cv", filename="cv.pdf", content_type="application/pdf", data=cv, sha256=hashlib.sha256(cv).hexdigest(), now=utcnow())
    async with db.write_transaction():
        await submit_application(a, u)
    print(r, a)

asyncio.run(main())
"""


@pytest.fixture
def seeded(live_server) -> tuple[int, int]:
    round_id, app_id = on_live_db(live_server, SEED).split()
    return int(round_id), int(app_id)


def test_application_list_and_detail_pass_axe(page, seeded):
    round_id, app_id = seeded
    sign_in(page)
    page.wait_for_url("**/admin")

    page.goto(f"/admin/rounds/{round_id}/applications")
    expect(page.get_by_role("link", name="Ama Applicant")).to_be_visible()
    axe_check(page)

    page.get_by_role("link", name="Ama Applicant").click()
    page.wait_for_url(f"**/admin/applications/{app_id}")
    assert "Large print" in page.locator("main").inner_text()
    axe_check(page)

    page.get_by_label("Reason (the adjustment)").fill("")
    page.get_by_role("button", name="Extend the deadline").click()
    summary = page.get_by_role("alert")
    assert "Give a reason" in summary.inner_text()
    axe_check(page)
