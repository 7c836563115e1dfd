"""Two scheduler processes run at once by mistake: still one reminder per person.

Both enqueue the reminder planner every second, and two worker processes (two
threads each) run the copies side by side; four more copies are enqueued at once at
the start, so planners certainly race for the same reminders. The reminder rows are
unique on (kind, round, recipient, offset) and a mail is written only for a row the
planner inserted, so every applicant gets the 3-hour reminder once.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from portal.tables import Reminder
from tests.factories import run
from tests.faults.conftest import note, now, outbox_counts, seed_drafts, wait_until

pytestmark = pytest.mark.faults

DRAFTS = 60


def test_two_schedulers_send_each_reminder_once(stack, request):
    # The round closes in 2 h 58 min: its 3-hour reminder fell due 2 minutes ago.
    round_id, applicants = seed_drafts(
        DRAFTS, closes_at=now() + timedelta(hours=3, minutes=-2), reminder_hours="3", complete=False
    )
    stack.wait_ready(
        stack.worker("workers", processes=2, threads=2, wait=False),
        stack.scheduler("scheduler-1", wait=False, PORTAL_REMINDER_SECONDS="1"),
        stack.scheduler("scheduler-2", wait=False, PORTAL_REMINDER_SECONDS="1"),
    )
    # Besides the ticks: four planners at the same instant, one per worker thread.
    for _ in range(4):
        stack.send("plan_reminders")
    wait_until(lambda: len(stack.smtp.received) >= DRAFTS, 60, stack.diagnose)
    time.sleep(4)  # several more ticks of both schedulers: nothing else may arrive

    reminders = run(
        Reminder.select(Reminder.kind, Reminder.recipient, Reminder.offset_minutes).where(
            Reminder.round == round_id
        )
    )
    assert len(reminders) == DRAFTS
    assert {(r["kind"], r["offset_minutes"]) for r in reminders} == {("draft_due", 180)}
    assert {r["recipient"] for r in reminders} == {a.user_id for a in applicants}
    assert sum(outbox_counts().values()) == DRAFTS
    assert stack.smtp.duplicates() == {}
    assert len(stack.smtp.message_ids()) == DRAFTS
    assert sorted(r.to for r in stack.smtp.received) == sorted(a.email for a in applicants)
    # Usually 1: the planners that ran beside it found every reminder already written.
    plans = sum(p.log(1_000_000).count("planned") for p in stack.procs.started)
    note(request, "planner_runs_that_wrote_reminders", plans)
