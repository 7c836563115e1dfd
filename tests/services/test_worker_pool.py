"""A `dramatiq` worker process on PostgreSQL keeps a connection pool on its event loop,
and delivers through it. Without the pool every query opened a connection of its own."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from datetime import UTC, datetime

import pytest
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from portal import db
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.services


async def _connections(url: str) -> int:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await conn.close()


async def _queue_mail() -> int:
    async with db.write_transaction():
        message_id = await enqueue_mail(
            Mail(
                kind="test",
                dedupe_key="pool-test",
                recipient="rae@example.org",
                subject="Pooled",
                body_text="Delivered through the worker's pool.",
            ),
            datetime.now(UTC),
        )
    assert message_id
    return message_id


def test_worker_process_keeps_a_pool_and_delivers_through_it(
    settings: Settings, pg_url: str, redis_url: str, tmp_path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PORTAL_ENV="test",
        PORTAL_DATABASE_URL=settings.database_url,
        PORTAL_BROKER_URL=redis_url,
        PORTAL_DATABASE_POOL="3",
        PORTAL_VAR_DIR=str(tmp_path / "var"),
        PORTAL_LOG_LEVEL="INFO",
    )
    before = asyncio.run(_connections(settings.database_url))
    worker = subprocess.Popen(
        [str(PROJECT_ROOT / ".venv/bin/dramatiq"), "workers.actors", "-p", "1", "-t", "2"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        message_id = asyncio.run(_queue_mail())
        broker = RedisBroker(url=redis_url, namespace="portal")
        broker.enqueue(
            Message(
                queue_name="mail",
                actor_name="deliver_message",
                args=(message_id,),
                kwargs={},
                options={},
            )
        )
        mailbox = tmp_path / "var" / "mailbox"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(mailbox.glob("*-test.eml")):
            time.sleep(0.2)
        assert list(mailbox.glob("*-test.eml")), "the worker did not deliver the mail"
        # Idle now: the pool keeps its connection open (a pool-less worker holds none).
        assert asyncio.run(_connections(settings.database_url)) > before
    finally:
        os.kill(worker.pid, signal.SIGTERM)  # the main process only (see tests/faults)
        output, _ = worker.communicate(timeout=30)
    assert "worker database pool open (up to 3 connections)" in output, output[-3000:]
