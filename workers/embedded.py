"""The embedded mode's background parts: a Dramatiq worker thread and the scheduler
thread, started and stopped with the web app's lifespan."""

from __future__ import annotations

import logging

import dramatiq

from portal.settings import Settings
from workers.broker import broker

log = logging.getLogger("portal.embedded")


class EmbeddedRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.worker: dramatiq.Worker | None = None
        self.scheduler = None

    def start(self) -> None:
        import workers.actors  # noqa: F401  (declares every actor on the broker)

        if self.settings.embedded_worker:
            self.worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
            self.worker.start()
        if self.settings.embedded_scheduler:
            from workers.scheduler import build_scheduler

            self.scheduler = build_scheduler(self.settings, background=True)
            self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self.worker is not None:
            self.worker.stop(timeout=5_000)
            forget_worker(self.worker)
            self.worker = None


def forget_worker(worker: dramatiq.Worker) -> None:
    """Take a stopped worker's hook off the broker.

    Dramatiq adds one per `Worker.start()` and never removes it; left there, a later
    queue declaration would start consumers for the stopped worker. Matters wherever
    workers come and go in one process (app restarts in tests).
    """
    broker.middleware[:] = [
        m for m in broker.middleware if getattr(m, "worker", None) is not worker
    ]
