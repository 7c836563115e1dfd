"""Fixtures for tests against real PostgreSQL and Redis servers.

Each service test skips, naming the variable to set, when its server is not
configured; `.ci/run` sets both and fails if any `services` test was skipped.
SQLite variants always run, so every engine-level rule is checked on both engines.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from piccolo.engine.base import Engine

from portal import db
from portal.settings import Settings
from tests.conftest import PG_URL, REDIS_URL


@pytest.fixture
def pg_url() -> str:
    """The server URL of the test PostgreSQL (any database on it)."""
    if not PG_URL:
        pytest.skip("set PORTAL_TEST_DATABASE_URL=postgresql://... to run PostgreSQL tests")
    return PG_URL


@pytest.fixture
def redis_url(settings: Settings) -> str:
    """This xdist worker's own Redis database (the shared `settings` fixture flushed it)."""
    if not REDIS_URL:
        pytest.skip("set PORTAL_TEST_REDIS_URL=redis://... to run Redis tests")
    assert settings.redis_url, "tests/conftest.py should point the settings at Redis"
    return settings.redis_url


@pytest.fixture
def restore_binding() -> Iterator[None]:
    """Tests here bind tables to engines of their own; put the previous one back after."""
    previous = db.current_engine()
    yield
    db.bind(previous)


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def empty_pg_database(pg_url: str, restore_binding: None) -> Iterator[str]:
    """A brand-new, empty PostgreSQL database, dropped afterwards."""
    name = f"portal_empty_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_url, f'CREATE DATABASE "{name}"'))
    yield urlunsplit(urlsplit(pg_url)._replace(path=f"/{name}"))
    asyncio.run(_admin(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, database_template: str, restore_binding: None
) -> Engine:
    """A migrated, empty database on each engine, bound to every table."""
    if request.param == "sqlite":
        path = tmp_path / "engine.sqlite3"
        if PG_URL:  # the shared template is a PostgreSQL database then
            asyncio.run(db.migrate(db.engine_for(Settings(database_url=f"sqlite:///{path}"))))
        else:
            shutil.copyfile(database_template, path)
        engine = db.bind(db.engine_for(Settings(database_url=f"sqlite:///{path}")))
        asyncio.run(db.prepare_sqlite(engine))
        return engine
    if not PG_URL:
        pytest.skip("set PORTAL_TEST_DATABASE_URL=postgresql://... to run PostgreSQL tests")
    # This worker's migrated database (see tests/conftest.py), emptied for this test.
    engine = db.bind(db.engine_for(Settings(database_url=database_template)))
    from tests.conftest import _truncate_all

    asyncio.run(_truncate_all())
    return engine
