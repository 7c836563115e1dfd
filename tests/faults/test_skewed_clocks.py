"""Host clocks decide nothing (issue 10, "one clock").

The web, worker and scheduler processes run under libfaketime with their hosts' clocks
5 minutes fast, then 5 minutes slow, while PostgreSQL's clock (and this test's, on the
same machine) is true. Every verdict must follow the database's clock:

- the web: a save or a submit 3 s before the close is taken, and its pages do not say
  the round closed; 3 s after the close (no grace here) both are refused;
- the worker: a reminder is planned at its due time, not minutes early or late; a mail
  whose lease has a minute left is not sent again, one whose lease ran out is; a mail
  younger than the age limit goes out and an older one is held.

PostgreSQL only: SQLite's clock is the clock of the process that runs it, so a skewed
web process would skew its SQLite too. Skipped without PORTAL_TEST_DATABASE_URL (as
the other services tests; `.ci/run` refuses a skipped one where the services are).
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from portal.mail.smtp import message_id_for
from portal.tables import Answer, Application, OutboxMessage, Question, Reminder, Round, Submission
from tests.conftest import PG_URL
from tests.factories import run, write
from tests.faults.conftest import (
    FAKETIME,
    Browser,
    _token,
    close_all,
    note,
    seed_drafts,
    signed_in,
    skewed,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.services]

SKEWS = {"+5m": timedelta(minutes=5), "-5m": timedelta(minutes=-5)}
MARGIN = timedelta(seconds=3)


@pytest.fixture(autouse=True)
def _needs_postgresql_and_faketime() -> None:
    if not PG_URL:
        pytest.skip("set PORTAL_TEST_DATABASE_URL=postgresql://... (SQLite's clock is the host's)")
    probe = subprocess.run(
        skewed([sys.executable, "-c", "import time; print(time.time())"], "+5m"),
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(
            f"{FAKETIME} is missing or broken (apt-get install faketime); .ci/run installs it"
        )
    assert float(probe.stdout) - time.time() > 290, "faketime did not move the clock"


def database_now() -> datetime:
    """PostgreSQL's clock, read from this (unskewed) process."""
    rows = run(Round.raw("SELECT now() AS now"))
    return rows[0]["now"].astimezone(UTC)


def sleep_until(moment: datetime) -> None:
    """Sleep until the database's clock shows `moment` (this host's clock is true too)."""
    while (left := (moment - database_now()).total_seconds()) > 0:
        time.sleep(min(left, 0.5))


def host_clock_of(url: str) -> timedelta:
    """How far a web process's clock is from the database's (its Date header)."""
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        said = parsedate_to_datetime(response.headers["Date"])
    return said - database_now()


async def save(browser: Browser, question_id: int, text: str) -> int:
    """Save the draft from the review page's tab (its token, read while the round was open)."""
    app = browser.applicant.application_id
    response = await browser.client.post(
        f"/applications/{app}",
        data={"_csrf_token": browser.token, f"question_{question_id}": text},
    )
    return response.status_code


async def review(browser: Browser) -> str:
    page = await browser.client.get(f"/applications/{browser.applicant.application_id}/review")
    browser.token = _token(page.text)
    return page.text


def answer_of(application_id: int) -> str:
    row = run(Answer.select(Answer.text).where(Answer.application == application_id).first())
    return row["text"]


@pytest.mark.parametrize("skew", list(SKEWS))
def test_the_web_hosts_clock_decides_no_save_or_submit(stack, loop, request, skew):
    round_id, (early, late) = seed_drafts(2, closes_at=database_now() + timedelta(days=1))
    question_id = run(Question.select(Question.id).first())["id"]
    web = stack.web(clock=skew)
    offset = host_clock_of(web.url)
    note(request, "web_clock_offset_seconds", round(offset.total_seconds()))
    assert abs(offset - SKEWS[skew]) < timedelta(seconds=5), offset
    browsers = signed_in(loop, web.url, [early, late])
    before, after = browsers
    # The round closes 6 s from now by the database's clock, with no grace.
    closes_at = database_now() + timedelta(seconds=6)
    write(lambda: Round.update({Round.closes_at: closes_at}).where(Round.id == round_id))
    try:
        sleep_until(closes_at - MARGIN)
        page = loop.run_until_complete(review(before))
        saved_before = loop.run_until_complete(save(before, question_id, "Saved 3 s before"))
        submitted_before = loop.run_until_complete(before.submit())
        sleep_until(closes_at + MARGIN)
        saved_after = loop.run_until_complete(save(after, question_id, "Saved 3 s after"))
        submitted_after = loop.run_until_complete(after.submit())
    finally:
        close_all(loop, browsers)

    assert "Submit your application</button>" in page
    assert "round closed" not in page and "has passed" not in page
    assert saved_before == 303 and submitted_before, "refused before the close"
    assert saved_after == 409 and not submitted_after, "taken after the close"
    assert answer_of(early.application_id) == "Saved 3 s before"
    assert answer_of(late.application_id) == "Me."
    submissions = run(Submission.select(Submission.application, Submission.received_at))
    assert [s["application"] for s in submissions] == [early.application_id]
    assert submissions[0]["received_at"] < closes_at
    assert (
        run(Application.select(Application.status).where(Application.id == late.application_id))[0][
            "status"
        ]
        == "draft"
    )


def _outbox_row(key: str, **columns) -> int:
    rows = write(
        lambda: OutboxMessage.insert(
            OutboxMessage(
                kind="fault_test",
                dedupe_key=key,
                recipient=f"{key}@example.org",
                subject=key,
                body_text=f"Message {key}.",
                **columns,
            )
        ).returning(OutboxMessage.id)
    )
    return rows[0]["id"]


def _status(row_id: int) -> str:
    return run(OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == row_id))[0][
        "status"
    ]


@pytest.mark.parametrize("skew", list(SKEWS))
def test_the_worker_hosts_clock_moves_no_reminder_lease_or_age_limit(stack, request, skew):
    t = database_now()
    # The 3-hour reminder falls due 25 s from now: time to start the processes first.
    closes_at = t + timedelta(hours=3, seconds=25)
    due_at = closes_at - timedelta(hours=3)
    round_id, [applicant] = seed_drafts(1, closes_at=closes_at, reminder_hours="3", complete=False)
    age_limit = timedelta(hours=24)  # PORTAL_MAIL_MAX_AGE_HOURS's default
    leased = _outbox_row(
        "lease-left", status="sending", attempts=1, claimed_at=t - timedelta(minutes=4)
    )
    expired = _outbox_row(
        "lease-over", status="sending", attempts=1, claimed_at=t - timedelta(minutes=5, seconds=30)
    )
    young = _outbox_row("young", created_at=t - age_limit + timedelta(minutes=2), next_attempt_at=t)
    old = _outbox_row("old", created_at=t - age_limit - timedelta(minutes=2), next_attempt_at=t)

    stack.worker(clock=skew)
    started = database_now()

    def tick() -> bool:
        """The scheduler's part, from this unskewed process: its timing decides nothing."""
        stack.send("plan_reminders")
        stack.send("sweep_outbox")
        time.sleep(0.5)
        return True

    while database_now() < due_at - timedelta(seconds=2):
        tick()
    early = run(Reminder.count().where(Reminder.round == round_id))
    sent_early = set(stack.smtp.message_ids())
    wait_until(
        lambda: tick() and run(Reminder.count().where(Reminder.round == round_id)) == 1,
        20,
        stack.diagnose,
    )
    [reminder] = run(Reminder.select().where(Reminder.round == round_id))
    wait_until(
        lambda: tick() and _status(expired) == "sent" and _status(young) == "sent",
        20,
        stack.diagnose,
    )
    for _ in range(4):  # a few more sweeps: the leased row must still not go out
        tick()

    note(request, "seconds_before_due_when_watched", round((due_at - started).total_seconds()))
    note(
        request,
        "reminder_planned_after_due_s",
        round((reminder["created_at"] - due_at).total_seconds(), 1),
    )
    assert started < due_at - timedelta(seconds=2), "the processes took too long to start"
    assert early == 0, "a reminder was planned before it fell due"
    assert due_at <= reminder["created_at"] <= due_at + timedelta(seconds=15)
    assert reminder["recipient"] == applicant.user_id
    assert _status(leased) == "sending", "re-sent before its lease ran out"
    assert message_id_for("lease-left") not in stack.smtp.message_ids()
    assert message_id_for("lease-over") in stack.smtp.message_ids()
    assert message_id_for("young") in stack.smtp.message_ids()
    assert _status(old) == "held" and message_id_for("old") not in stack.smtp.message_ids()
    assert not {message_id_for("lease-left"), message_id_for("old")} & sent_early
