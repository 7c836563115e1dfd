"""Migrations build every table on an empty database, on both engines, and SQLite is
left in WAL mode with a busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from portal import db
from portal.settings import Settings
from portal.tables import ALL_TABLES

pytestmark = pytest.mark.services

EXPECTED_TABLES = {t._meta.tablename for t in ALL_TABLES}


async def _pg_tables(url: str) -> set[str]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    return {r["table_name"] for r in rows}


def _sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }


def test_migrations_create_every_table_on_an_empty_postgresql_database(empty_pg_database):
    assert not EXPECTED_TABLES & asyncio.run(_pg_tables(empty_pg_database))

    asyncio.run(db.migrate(db.engine_for(Settings(database_url=empty_pg_database))))

    tables = asyncio.run(_pg_tables(empty_pg_database))
    assert EXPECTED_TABLES <= tables, f"missing: {sorted(EXPECTED_TABLES - tables)}"


def test_migrations_run_twice_on_postgresql_change_nothing(empty_pg_database):
    engine = db.engine_for(Settings(database_url=empty_pg_database))
    asyncio.run(db.migrate(engine))
    before = asyncio.run(_pg_tables(empty_pg_database))

    asyncio.run(db.migrate(engine))

    assert asyncio.run(_pg_tables(empty_pg_database)) == before


def test_migrations_create_every_table_on_an_empty_sqlite_file(tmp_path, restore_binding):
    path = tmp_path / "fresh.sqlite3"

    asyncio.run(db.migrate(db.engine_for(Settings(database_url=f"sqlite:///{path}"))))
    asyncio.run(db.migrate(db.engine_for(Settings(database_url=f"sqlite:///{path}"))))  # idempotent

    tables = _sqlite_tables(path)
    assert EXPECTED_TABLES <= tables, f"missing: {sorted(EXPECTED_TABLES - tables)}"


def test_sqlite_is_in_wal_mode_with_a_busy_timeout_after_migrate(tmp_path, restore_binding):
    path = tmp_path / "fresh.sqlite3"
    engine = db.engine_for(Settings(database_url=f"sqlite:///{path}"))

    asyncio.run(db.migrate(engine))

    # WAL is a property of the file: a plain connection sees it too.
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # The busy timeout is per connection: every connection the engine opens waits.
    rows = asyncio.run(engine.run_ddl("PRAGMA busy_timeout"))
    assert rows[0]["timeout"] == db.SQLITE_BUSY_TIMEOUT_SECONDS * 1000
