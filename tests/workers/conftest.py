"""Worker fixtures: a real SMTP server (aiosmtpd in a thread) and a real Dramatiq worker.

The SMTP server collects what it receives and can be told to refuse with a given
reply at RCPT or DATA time (451 = try later, 550 = never). `drain()` runs a
`dramatiq.Worker` on the (stub) broker until the mail queue is empty, so actors run
exactly as they do in production, only on demand.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import dramatiq
import pytest
from aiosmtpd.controller import Controller

from workers.broker import broker
from workers.embedded import forget_worker


@dataclass
class SmtpCollector:
    """An aiosmtpd handler that keeps every accepted message."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # as received, headers unparsed
    rcpt_reply: str | None = None
    data_reply: str | None = None
    url: str = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_reply:
            return self.data_reply
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.raw.append(bytes(envelope.original_content or envelope.content))
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def recover(self) -> None:
        self.rcpt_reply = self.data_reply = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpCollector]:
    handler = SmtpCollector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.url = f"smtp://127.0.0.1:{port}"
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def drain() -> Iterator[Callable[[], None]]:
    """Run a real worker until every queued mail message (and what it queued) is done."""
    broker.flush_all()  # ids another test left in the shared stub broker mean nothing here

    def run_worker() -> None:
        worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
        worker.start()
        try:
            broker.join("mail", timeout=20_000)
            worker.join()
        finally:
            worker.stop(timeout=5_000)
            forget_worker(worker)

    yield run_worker
    broker.flush_all()
