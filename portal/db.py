"""The bound engine, the write-transaction helper, pools, migrations and integrity-error
translation. Engines are built in `portal.engines`.

SQLite's default deferred transactions fail with "database is locked" when two
read-then-write transactions race; every write transaction on SQLite is therefore
IMMEDIATE. PostgreSQL needs no such argument. All write paths go through
`write_transaction()` so the rule lives in one place.

One clock: every time rule on every path (web handlers, workers, the outbox) takes
`now` from `database_now()`, the database's clock, read once per transaction. Host
clocks decide nothing: a web or worker host whose clock is minutes out cannot move a
deadline, a reminder or a lease (tests/faults/test_skewed_clocks.py).
"""

from __future__ import annotations

import os
import sqlite3
from contextvars import ContextVar
from datetime import UTC, datetime

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from portal.engines import SQLITE_BUSY_TIMEOUT_SECONDS, engine_for  # noqa: F401 (re-exported)

os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")


def bind(engine: Engine) -> Engine:
    """Point every table (and Piccolo's migration runner) at `engine`."""
    from piccolo.apps.migrations.tables import Migration

    from portal import piccolo_conf
    from portal.tables import ALL_TABLES

    piccolo_conf.DB = engine
    for table in [*ALL_TABLES, Migration]:
        table._meta._db = engine
    return engine


def current_engine() -> Engine:
    from portal import piccolo_conf

    return piccolo_conf.DB


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or current_engine()).engine_type == "sqlite"


def write_transaction():
    """Open a write transaction: IMMEDIATE on SQLite, a plain one on PostgreSQL."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def read_transaction():
    """Group several reads on one connection (Piccolo otherwise opens one per query on SQLite)."""
    return current_engine().transaction()


# The reading kept for the transaction it was taken in (the transaction object itself
# has __slots__), so every rule in one transaction sees the same instant.
_READING: ContextVar[tuple[object, datetime] | None] = ContextVar("database_now", default=None)


async def database_now() -> datetime:
    """The database's clock as aware UTC: read once per transaction, then the same reading.

    PostgreSQL: `now()`, the start of the caller's transaction (outside one, of the
    statement), whatever the clock of the host running this code says. SQLite runs in
    this process, so its clock (`strftime('now')`) is this process's clock: read without
    a query. Inside a write transaction on SQLite the reading comes after the write
    lock was taken.
    """
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if transaction is not None:
        kept = _READING.get()
        if kept is not None and kept[0] is transaction:
            return kept[1]
    if isinstance(engine, SQLiteEngine):
        now = datetime.now(UTC)
    else:
        from portal.tables import Round

        rows = await Round.raw("SELECT now() AS now")
        now = rows[0]["now"].astimezone(UTC)
    if transaction is not None:
        _READING.set((transaction, now))
    return now


async def open_pool(engine: Engine, size: int) -> bool:
    """A PostgreSQL pool for the web process's own event loop (a pool cannot be shared
    across loops, so the embedded worker and tests run without one)."""
    if size > 0 and isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=size)
        return True
    return False


async def close_pool(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


async def prepare_sqlite(engine: Engine) -> None:
    """WAL lets readers run beside the writer; it is a property of the file."""
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL")


def is_integrity_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    try:
        import asyncpg

        return isinstance(exc, asyncpg.exceptions.IntegrityConstraintViolationError)
    except ImportError:  # pragma: no cover
        return False


async def ping() -> None:
    await current_engine().run_ddl("SELECT 1")


async def migrate(engine: Engine) -> None:
    """Run every migration not yet applied (idempotent)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    bind(engine)
    await prepare_sqlite(engine)
    result = await run_forwards(app_name="portal")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
