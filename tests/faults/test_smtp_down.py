"""The SMTP server goes away and comes back; and one that refuses for good."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar.testing import TestClient

from portal.mail.smtp import message_id_for
from portal.tables import OutboxMessage
from tests.conftest import ADMIN_PASSWORD, sign_in
from tests.factories import make_admin, run, write
from tests.faults.conftest import insert_mails, now, outbox_counts, wait_until

pytestmark = pytest.mark.faults

REFUSAL = "550 5.7.1 Fault test: this mailbox refuses all mail"


def _rows(prefix: str) -> list[dict]:
    return run(OutboxMessage.select().where(OutboxMessage.dedupe_key.like(f"{prefix}:%")))


def test_mail_waits_while_smtp_is_down_and_goes_when_it_is_back(stack):
    stack.smtp.stop()  # nothing listens on its port now
    stack.start()
    ids = insert_mails(5, "outage")
    for message_id in ids:
        stack.send("deliver_message", message_id)

    def all_tried_once() -> bool:
        rows = _rows("outage")
        return all(r["attempts"] >= 1 and r["status"] == "pending" for r in rows)

    wait_until(all_tried_once, 30, stack.diagnose)
    for row in _rows("outage"):
        assert "Connect" in row["last_error"] or "refused" in row["last_error"], row["last_error"]
        # Backed off: not tried again at once (30 s after the first failure).
        assert row["next_attempt_at"] > now() + timedelta(seconds=10)
    assert stack.smtp.received == []

    stack.smtp.start()  # back, on the same port
    # The backoff runs out (done by hand: 30 s is longer than this test should take).
    write(
        lambda: OutboxMessage.update(
            {OutboxMessage.next_attempt_at: now() - timedelta(seconds=1)}
        ).where(OutboxMessage.id.is_in(ids))
    )
    wait_until(lambda: outbox_counts().get("sent", 0) == 5, 30, stack.diagnose)
    assert stack.smtp.message_ids() == {message_id_for(f"outage:{i}"): 1 for i in range(5)}
    assert all(r["attempts"] == 2 and r["last_error"] == "" for r in _rows("outage"))


def test_a_permanent_refusal_is_marked_failed_and_shown_to_admins(stack):
    stack.smtp.data_reply = REFUSAL
    stack.worker()
    (message_id,) = insert_mails(1, "refused")
    stack.send("deliver_message", message_id)
    wait_until(lambda: outbox_counts() == {"failed": 1}, 30, stack.diagnose)
    (row,) = _rows("refused")
    assert row["attempts"] == 1  # a 5xx is not retried
    assert REFUSAL in row["last_error"]

    run(make_admin("ada@example.org", "Ada Admin", ADMIN_PASSWORD))
    from portal.app import create_app

    with TestClient(create_app(stack.settings), base_url="http://portal.test") as client:
        assert sign_in(client, "ada@example.org").status_code in (302, 303)
        page = client.get("/admin/outbox?status=failed")
    assert page.status_code == 200
    assert "person0@example.org" in page.text
    assert "Failed: 1" in page.text
    assert REFUSAL in page.text
