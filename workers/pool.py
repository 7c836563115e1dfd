"""A PostgreSQL connection pool for a `dramatiq` worker process.

Without one, every query an actor runs opens a new connection (two or more per mail
sent). A pool belongs to the event loop that opened it, so it is opened on the
AsyncIO middleware's loop once the worker has booted, and closed once its threads
have stopped, before the loop stops.
Only in a worker process of its own: the embedded worker shares the web process's
engine, whose pool (if any) belongs to the web app's loop.
"""

from __future__ import annotations

import asyncio
import logging

from dramatiq import Middleware
from dramatiq.asyncio import get_event_loop_thread
from piccolo.engine import engine_finder

from portal import db
from portal.settings import Settings

log = logging.getLogger("portal.workers.pool")

CLOSE_SECONDS = 2.0


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

    def after_worker_shutdown(self, broker, worker) -> None:
        # After the worker threads have stopped (not before: their messages still
        # use the pool while they finish), and before the AsyncIO middleware stops
        # the loop (after-hooks run in reverse order of the middleware list). Bounded:
        # a connection still held by an abandoned message must not stall the exit.
        loop = get_event_loop_thread()
        if self.opened and loop is not None:
            self.opened = False
            loop.run_coroutine(asyncio.wait_for(db.close_pool(engine_finder()), CLOSE_SECONDS))
