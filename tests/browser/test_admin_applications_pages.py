"""Admin application pages in a real browser: list, detail and the extension form's errors
all pass axe-core WCAG 2.2 AA. Data is seeded through the domain in a subprocess, on the
live server's own database (the server is a subprocess too; see conftest)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import axe_check, on_live_db, sign_in

pytestmark = pytest.mark.browser

SEED = r"""
import asyncio, time
from datetime import timedelta
from tests.factories import apply, connect, make_round, make_user

async def main():
    tag = time.time_ns()
    setup = await make_round(
        title="Accessibility seat", slug=f"a11y-{tag}",
        criteria=[("Lived experience", "", 1)], questions=[("Why you?", 50, True)],
        opens_at=-timedelta(days=1), closes_at=timedelta(days=3), grace_minutes=10,
    )
    user = await make_user(f"a11y-{tag}@example.org", "Ama Applicant", password=None,
        verified=False, organisation="Equity Network", adjustments="Large print")
    application = await apply(setup, user, answers=["Because"], statements=["Years of it"],
        cv=b"%PDF-1.7\n" + b"x" * 50)
    print(setup.round_id, application)

connect()
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
