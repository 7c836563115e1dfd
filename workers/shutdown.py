"""A `dramatiq` worker process stops within seconds, however SIGTERM reaches it.

Dramatiq 2.2's worker process takes a second SIGTERM as "kill now": its handler raises
SystemExit in the main thread, wherever that is. A signal to the whole process group
(systemd's default `KillMode=control-group`, Ctrl-C in a shell, `kill -TERM -PGID`)
gives every worker process two at once: its own, and the one the `dramatiq` parent
forwards. The SystemExit skips `Worker.stop()`, so the AsyncIO middleware's event-loop
thread (not a daemon thread) is never stopped and the interpreter waits for it for
ever at exit; the parent waits for the child, and the child's worker threads (daemon
threads) keep taking messages meanwhile.

This middleware, in a `dramatiq` worker process only:
- wraps dramatiq's worker signal handler once the process has booted: the first
  SIGTERM (or SIGHUP) starts dramatiq's graceful stop, later ones are logged and
  ignored, and a watchdog ends the process HARD_STOP_SECONDS after the first signal if
  the stop has not finished by then (as SIGKILL would: a row still `sending` then
  waits for the outbox lease);
- before the worker shuts down, stops its threads taking new messages and gives the
  messages in progress until GRACE_SECONDS after the signal to finish. It sits just
  before dramatiq's ShutdownNotifications, which then interrupts the actors declared
  with `notify_shutdown=True` that are still running: an interrupted delivery puts
  its row back to pending (`portal.mail.send`), and Retries re-enqueues the message.

Messages prefetched but not started are handed back to the broker by `Worker.stop()`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from dramatiq import Middleware

log = logging.getLogger("portal.workers.shutdown")

GRACE_SECONDS = 4.0  # from the first signal: in-flight messages may finish until then
HARD_STOP_SECONDS = 8.0  # from the first signal: the process exits by then regardless
EXIT_CODE = 1  # dramatiq's RET_KILLED

Handler = Callable[[int, Any], Any]


def is_dramatiq_worker_handler(handler: object) -> bool:
    """The handler `dramatiq.cli.worker_process` installs (not the parent's, not ours)."""
    return getattr(handler, "__module__", None) == "dramatiq.cli" and getattr(
        handler, "__qualname__", ""
    ).startswith("worker_process.")


class GracefulStop(Middleware):
    def __init__(self, grace: float = GRACE_SECONDS, hard_stop: float = HARD_STOP_SECONDS) -> None:
        self.grace = grace
        self.hard_stop = hard_stop
        self.signalled_at: float | None = None
        self.first_signal = threading.Lock()
        self.exit: Callable[[int], object] = os._exit

    # --- the signal --------------------------------------------------------------------

    def after_process_boot(self, broker) -> None:
        """Runs in a worker process's main thread right after it imported the broker,
        once dramatiq has set its handlers (and never in the web or embedded mode,
        where the handler found is someone else's)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGHUP):
            handler = signal.getsignal(signum)
            if is_dramatiq_worker_handler(handler):
                signal.signal(signum, self.once(handler))

    def once(self, dramatiq_handler: Handler) -> Handler:
        def on_signal(signum: int, frame: Any) -> None:
            # A second signal can arrive while this handler runs (Python runs handlers
            # between bytecodes, nested): the non-blocking acquire is one step, so
            # exactly one call gets through to dramatiq's handler.
            if not self.first_signal.acquire(blocking=False):
                log.info(
                    "%s ignored: already stopping (at most %gs; SIGKILL stops it at once)",
                    signal.Signals(signum).name,
                    self.hard_stop,
                )
                return
            self.signalled_at = time.monotonic()
            watchdog = threading.Timer(self.hard_stop, self.hard_exit)
            watchdog.daemon = True
            watchdog.start()
            dramatiq_handler(signum, frame)  # sets its `running` flag: Worker.stop() follows

        return on_signal

    def hard_exit(self) -> None:
        log.critical(
            "worker process still stopping %gs after the signal: exiting now; "
            "mail it was sending is re-sent after the outbox lease",
            self.hard_stop,
        )
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        self.exit(EXIT_CODE)

    # --- the stop ----------------------------------------------------------------------

    def before_worker_shutdown(self, broker, worker) -> None:
        started = self.signalled_at if self.signalled_at is not None else time.monotonic()
        deadline = started + self.grace
        threads = list(getattr(worker, "workers", ()))
        for thread in threads:
            thread.stop()  # takes no new message; Worker.stop() does the same, later
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        busy = sum(thread.is_alive() for thread in threads)
        if busy:
            log.warning(
                "%d message(s) still running %gs after the stop began: interrupting them",
                busy,
                self.grace,
            )
