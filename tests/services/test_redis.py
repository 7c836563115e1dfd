"""Redis-backed parts work across processes: a sign-in made through one app instance
is honoured by another, rate limits are shared, and a Dramatiq Redis broker delivers
an outbox message through a real worker."""

from __future__ import annotations

import asyncio
import time
import uuid

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.timerules import utcnow
from portal.settings import Settings
from portal.tables import OutboxMessage
from tests.conftest import form_token, post_form, sign_in
from tests.factories import write

pytestmark = pytest.mark.services

SESSION_COOKIE = "portal_session"
HOST = "testserver.local"


def test_sign_in_through_one_app_is_honoured_by_another(redis_url, make_client, admin_id):
    first, second = make_client(), make_client()  # two app instances, one Redis

    assert sign_in(first, "ada@example.org").status_code in (302, 303)
    second.cookies.set(SESSION_COOKIE, first.cookies.get(SESSION_COOKIE, domain=HOST), domain=HOST)

    page = second.get("/admin")
    assert page.status_code == 200
    assert "Signed in as Ada Admin" in page.text


def test_sign_out_through_one_app_ends_the_session_in_another(redis_url, make_client, admin_id):
    first, second = make_client(), make_client()
    sign_in(first, "ada@example.org")
    session_id = first.cookies.get(SESSION_COOKIE, domain=HOST)
    second.cookies.set(SESSION_COOKIE, session_id, domain=HOST)
    # The CSRF cookie travels with the session, as it would in one browser.
    second.cookies.set("portal_csrf", first.cookies.get("portal_csrf", domain=HOST), domain=HOST)

    post_form(second, "/admin/sign-out", {}, token_from="/admin", follow_redirects=False)

    first.cookies.set(SESSION_COOKIE, session_id, domain=HOST)
    assert first.get("/admin").status_code == 401


def test_sign_in_attempts_are_counted_across_app_instances(redis_url, make_client, admin_id):
    first, second = make_client(), make_client()
    for _ in range(10):
        assert sign_in(first, "ada@example.org", "wrong password here").status_code == 400

    token = form_token(second)
    response = second.post(
        "/admin/sign-in", data={"email": "ada@example.org", "password": "x", "_csrf_token": token}
    )

    assert response.status_code == 429


def _poll(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return check()


def _status_of(message_id: int) -> str:
    query = OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == message_id).first()
    return asyncio.run(query.run())["status"]


def test_redis_broker_delivers_an_outbox_message_through_a_real_worker(
    redis_url, settings: Settings
):
    from workers import context
    from workers.mail import deliver_message

    # Built like workers/broker.py, on a namespace and queue of its own so it cannot
    # take messages meant for any other worker using the same Redis.
    broker = RedisBroker(url=redis_url, namespace=f"portal-test-{uuid.uuid4().hex[:8]}")
    broker.add_middleware(AsyncIO())
    actor = dramatiq.actor(
        deliver_message.fn,
        broker=broker,
        actor_name="deliver_message",
        queue_name="mail-test",
        max_retries=0,
    )
    context.configure(settings)

    async def enqueue() -> int | None:
        return await enqueue_mail(
            Mail(
                kind="test",
                dedupe_key=f"redis-broker-test-{uuid.uuid4().hex}",
                recipient="grace@example.org",
                subject="Through Redis",
                body_text="Delivered by a real Dramatiq worker.",
            ),
            utcnow(),
        )

    message_id = write(enqueue)
    assert message_id is not None
    actor.send(message_id)  # after the commit, as the controllers do

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        sent = _poll(lambda: _status_of(message_id) == "sent")
    finally:
        worker.stop(timeout=5_000)
        broker.close()

    assert sent, f"the outbox row is {_status_of(message_id)!r}, not 'sent'"
    mails = list(settings.mailbox_dir.glob(f"{message_id:06d}-*.eml"))
    assert len(mails) == 1
    text = mails[0].read_text()
    assert "Subject: Through Redis" in text and "grace@example.org" in text
