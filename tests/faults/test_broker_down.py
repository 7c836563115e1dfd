"""The broker's Redis stops while applicants submit: nothing is refused, nothing is lost.

Which Redis holds what here: the test's own redis-server (spare port) is the Dramatiq
broker only (PORTAL_BROKER_URL). Sessions, CSRF and rate limits are not in Redis at
all (no PORTAL_REDIS_URL: the web process keeps sessions in files under its var/ and
rate limits in memory), so stopping that Redis breaks the broker and nothing else.
"""

from __future__ import annotations

import time

import pytest

from portal.tables import OutboxMessage
from tests.factories import run
from tests.faults.conftest import (
    all_receipts_sent_once,
    bounded,
    note,
    outbox_counts,
    ready_to_submit,
    submitted_application_ids,
)

pytestmark = pytest.mark.faults

APPLICANTS = 100


def test_submissions_while_the_broker_is_down_are_accepted_and_receipted_after(
    stack, loop, request
):
    with ready_to_submit(stack, loop, APPLICANTS) as ready:
        stack.redis.stop()

        started = time.monotonic()
        results = loop.run_until_complete(bounded((b.submit for b in ready.browsers), 10))
        note(request, "submit_seconds_broker_down", round(time.monotonic() - started, 2))
        failures = [r for r in results if r is not True]
        assert not failures, f"{len(failures)} submits not accepted, e.g. {failures[0]!r}"
        expected = {a.application_id for a in ready.applicants}
        assert submitted_application_ids(ready.round_id) == expected
        # Every receipt is written, none could be handed to the broker.
        assert outbox_counts("receipt") == {"pending": APPLICANTS}
        assert stack.smtp.received == []

        stack.redis.start()  # same port, empty: the broker lost whatever it held
        all_receipts_sent_once(stack, request, expected, "recovery_seconds")
        recipients = {r.to for r in stack.smtp.received}
        assert recipients == {a.email for a in ready.applicants}
        assert all(r["attempts"] == 1 for r in _fetch_attempts()), (
            "a receipt was handed to SMTP more than once"
        )


def _fetch_attempts():
    return run(OutboxMessage.select(OutboxMessage.attempts).where(OutboxMessage.kind == "receipt"))
