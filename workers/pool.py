"""A PostgreSQL connection pool for a `dramatiq` worker process.

Without one, every query an actor runs opens a new connection (two or more per mail
sent). A pool belongs to the event loop that opened it, so it is opened on the
AsyncIO middleware's loop once the worker has booted, and closed before it stops.
Only in a worker process of its own: the embedded worker shares the web process's
engine, whose pool (if any) belongs to the web app's loop.
"""

from __future__ import annotations

import logging

from dramatiq import Middleware
from dramatiq.asyncio import get_event_loop_thread
from piccolo.engine import engine_finder

from portal import db
from portal.settings import Settings

log = logging.getLogger("portal.workers.pool")


class DatabasePool(Middleware):
    def __init__(self, settings: Settings) -> None:
        self.size = 0 if settings.embedded_worker else settings.database_pool
        self.opened = False

    def after_worker_boot(self, broker, worker) -> None:
        if self.size <= 0:
            return
        loop = get_event_loop_thread()
        if loop is None:
            return
        self.opened = loop.run_coroutine(db.open_pool(engine_finder(), self.size))
        if self.opened:
            log.info("worker database pool open (up to %s connections)", self.size)

    def before_worker_shutdown(self, broker, worker) -> None:
        loop = get_event_loop_thread()
        if self.opened and loop is not None:
            loop.run_coroutine(db.close_pool(engine_finder()))
            self.opened = False
