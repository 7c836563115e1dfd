"""The stop rules of a `dramatiq` worker process (workers/shutdown.py), without one.

The real processes and signals are in tests/faults/test_sigterm_group.py; here the
handler and the grace period are driven directly, with short times.
"""

from __future__ import annotations

import signal
import threading
import time

from dramatiq.middleware import AsyncIO, ShutdownNotifications

import workers.actors  # noqa: F401  (declares the actors on the broker)
from workers.broker import broker
from workers.shutdown import GracefulStop, is_dramatiq_worker_handler


def test_only_the_first_signal_reaches_dramatiq_and_a_watchdog_bounds_the_stop():
    calls: list[int] = []
    exits: list[int] = []
    stop = GracefulStop(grace=0.05, hard_stop=0.2)
    stop.exit = exits.append
    handler = stop.once(lambda signum, frame: calls.append(signum))

    handler(signal.SIGTERM, None)
    handler(signal.SIGTERM, None)  # the parent's forward, or a second group signal
    handler(signal.SIGHUP, None)
    assert calls == [signal.SIGTERM], "dramatiq takes a second signal as 'kill now'"
    assert stop.signalled_at is not None
    deadline = time.monotonic() + 5
    while not exits and time.monotonic() < deadline:
        time.sleep(0.02)
    assert exits == [1]


def test_only_dramatiqs_worker_handler_is_wrapped():
    def worker_handler(signum, frame):  # what dramatiq.cli.worker_process defines
        return None

    worker_handler.__module__ = "dramatiq.cli"
    worker_handler.__qualname__ = "worker_process.<locals>.termhandler"
    assert is_dramatiq_worker_handler(worker_handler)
    assert not is_dramatiq_worker_handler(signal.SIG_DFL)
    assert not is_dramatiq_worker_handler(signal.default_int_handler)


class Busy(threading.Thread):
    """A worker thread with a message of `seconds` in progress."""

    def __init__(self, seconds: float) -> None:
        super().__init__(daemon=True)
        self.seconds = seconds
        self.stop_called = False

    def run(self) -> None:
        time.sleep(self.seconds)

    def stop(self) -> None:
        self.stop_called = True


class FakeWorker:
    def __init__(self, threads) -> None:
        self.workers = threads


def test_running_messages_get_the_grace_period_then_the_stop_goes_on():
    quick, slow = Busy(0.1), Busy(5)
    for thread in (quick, slow):
        thread.start()
    stop = GracefulStop(grace=0.5, hard_stop=5)
    began = time.monotonic()
    stop.before_worker_shutdown(broker, FakeWorker([quick, slow]))
    waited = time.monotonic() - began
    assert quick.stop_called and slow.stop_called, "no thread may take a new message"
    assert not quick.is_alive(), "a message that ends inside the grace is waited for"
    assert slow.is_alive() and 0.4 < waited < 2, "one that does not is left to be interrupted"


def test_the_middleware_sits_just_before_dramatiqs_shutdown_notifications():
    kinds = [type(m) for m in broker.middleware]
    assert kinds.index(GracefulStop) + 1 == kinds.index(ShutdownNotifications)
    assert AsyncIO in kinds
    for name in ("deliver_message", "sweep_outbox", "plan_reminders"):
        assert broker.get_actor(name).options.get("notify_shutdown") is True
