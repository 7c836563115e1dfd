"""A worker process is killed with SIGKILL in the middle of a batch of mail."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest

from portal.mail.smtp import message_id_for
from portal.tables import OutboxMessage
from tests.factories import run, write
from tests.faults.conftest import insert_mails, note, now, outbox_counts, wait_until

pytestmark = pytest.mark.faults

MESSAGES = 200


def test_a_killed_worker_loses_nothing_and_repeats_only_what_smtp_had_accepted(stack, request):
    """Every message is delivered after a second worker and the sweep take over.

    The one duplicate window: between the SMTP server's 250 reply and the commit of
    "sent". A message the killed worker had handed over but not yet marked stays
    "sending"; once its lease (outbox.LEASE, 5 minutes) runs out the sweep sends it
    again with the same Message-ID. Here the lease is expired by hand (claimed_at set
    6 minutes back), because the lease is a constant the worker processes read.
    The test asserts that the rows left "sending" are only those the killed worker
    held (at most its 2 threads), that every message arrives, and that any message
    arriving twice was in that window; the window's size is recorded as the JUnit
    property `duplicate_window` (usually 0 or 1 of the 200).
    """
    stack.smtp.delay = 0.05  # each DATA waits 50 ms before its 250: the batch takes seconds
    ids = insert_mails(MESSAGES, "killed")
    for message_id in ids:
        stack.send("deliver_message", message_id)
    first = stack.worker("worker-1", threads=2)
    wait_until(lambda: len(stack.smtp.received) >= MESSAGES // 4, 60, stack.diagnose)

    first.signal_group(signal.SIGKILL)
    first.popen.wait(timeout=10)
    time.sleep(0.3)  # a DATA already in its 50 ms wait still gets its 250 recorded
    accepted_before = set(stack.smtp.message_ids())
    rows = run(
        OutboxMessage.select(OutboxMessage.id, OutboxMessage.dedupe_key, OutboxMessage.status)
    )
    sending = {r["id"]: r["dedupe_key"] for r in rows if r["status"] == "sending"}
    sent = sum(r["status"] == "sent" for r in rows)
    assert len(accepted_before) < MESSAGES, "the kill came after the whole batch"
    # Only the killed worker held leases, and it runs 2 threads: at most 2 in flight.
    assert len(sending) <= 2, sending
    window = {i for i, key in sending.items() if message_id_for(key) in accepted_before}
    note(request, "sent_before_kill", sent)
    note(request, "sending_at_kill", len(sending))
    note(request, "duplicate_window", len(window))

    # The lease of the killed worker's rows runs out (5 minutes, done by hand here).
    write(
        lambda: OutboxMessage.update(
            {OutboxMessage.claimed_at: now() - timedelta(minutes=6)}
        ).where(OutboxMessage.id.is_in(list(sending) or [0]))
    )
    # The sweep re-drives what the dead worker had taken from the queue.
    stack.wait_ready(stack.worker("worker-2", wait=False), stack.scheduler(wait=False))
    wait_until(lambda: outbox_counts().get("sent", 0) == MESSAGES, 90, stack.diagnose)
    time.sleep(1.5)  # a sweep or two more: nothing else may arrive

    received = stack.smtp.message_ids()
    assert set(received) == {message_id_for(f"killed:{i}") for i in range(MESSAGES)}
    repeated = {mid for mid, n in received.items() if n > 1}
    assert repeated <= {message_id_for(sending[i]) for i in window}, (
        "a message outside the 250-to-commit window arrived twice"
    )
    assert all(n <= 2 for n in received.values())
