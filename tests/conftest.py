"""Shared fixtures: a migrated database per test, the app, a client, a signed-in admin.

SQLite (the default): migrations run once per session into a template file that
each test copies. PostgreSQL (PORTAL_TEST_DATABASE_URL set): each xdist worker gets
its own database, migrated once, with every table truncated before each test.
Redis (PORTAL_TEST_REDIS_URL set): sessions, rate limits and the page cache use a
per-worker Redis database, flushed before each test.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from litestar.testing import TestClient

os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
os.environ.setdefault(
    "PORTAL_VAR_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "portal-test-var")
)

from portal import db  # noqa: E402
from portal.domain.accounts.credentials import use_cheap_hashing  # noqa: E402
from portal.settings import Settings  # noqa: E402
from portal.tables import ALL_TABLES  # noqa: E402
from tests.factories import make_admin, run  # noqa: E402

# The suite runs as PORTAL_ENV=test: cheap password hashes, as its apps and servers use
# (tests/unit/test_password_hashing.py checks the production cost).
use_cheap_hashing()

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")
ADMIN_PASSWORD = "correct horse battery staple"


CI_MARKERS = ("services", "browser", "faults")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Write each test's `services`/`browser` marker into the JUnit XML report, so
    `.ci/run` can fail when one of those tests was skipped instead of run."""
    for item in items:
        for name in CI_MARKERS:
            if item.get_closest_marker(name):
                item.user_properties.append(("marker", name))


def _worker_index(worker_id: str) -> int:
    return 0 if worker_id == "master" else int(worker_id.removeprefix("gw"))


async def _create_pg_database(url: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _drop_pg_database(url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory, worker_id: str):
    """A migrated database: a SQLite file to copy, or a PostgreSQL URL to truncate.

    PostgreSQL databases are named for this run (xdist's run id, or the process), so two
    runs on one server never share one, and are dropped when the run ends."""
    if PG_URL:
        run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:8]
        name = f"portal_test_{run_id}_{_worker_index(worker_id)}"
        url = asyncio.run(_create_pg_database(PG_URL, name))
        asyncio.run(db.migrate(db.engine_for(Settings(database_url=url))))
        yield url
        asyncio.run(_drop_pg_database(PG_URL, name))
        return
    path = tmp_path_factory.mktemp("template") / "portal.sqlite3"
    asyncio.run(db.migrate(db.engine_for(Settings(database_url=f"sqlite:///{path}"))))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    yield str(path)


async def _truncate_all() -> None:
    names = ", ".join(t._meta.tablename for t in ALL_TABLES)
    await db.current_engine().run_ddl(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


def _flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


@pytest.fixture
def settings(tmp_path: Path, database_template: str, worker_id: str) -> Settings:
    if PG_URL:
        database_url = database_template
    else:
        path = tmp_path / "portal.sqlite3"
        shutil.copyfile(database_template, path)
        database_url = f"sqlite:///{path}"
    redis_url = None
    if REDIS_URL:
        parts = urlsplit(REDIS_URL)
        redis_url = urlunsplit(parts._replace(path=f"/{1 + _worker_index(worker_id) % 15}"))
        _flush_redis(redis_url)
    s = Settings(
        env="test",
        database_url=database_url,
        redis_url=redis_url,
        secret_key="test-secret-" + "x" * 40,
        base_url="http://testserver.local",
        var_dir=tmp_path / "var",
        embedded_worker=False,
        embedded_scheduler=False,
        public_cache_seconds=0,
    )
    db.bind(db.engine_for(s))
    if PG_URL:
        asyncio.run(_truncate_all())
    return s


@pytest.fixture
def make_client(settings: Settings):
    """Build a client for an app with changed settings: make_client(public_cache_seconds=5)."""
    from portal.app import create_app

    clients: list[TestClient] = []

    def make(**changes) -> TestClient:
        client = TestClient(
            create_app(replace(settings, **changes)), base_url="http://testserver.local"
        )
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def another_app_client(settings: Settings):
    """A client (not yet entered) on a second app with the same settings: a second
    visitor, as if through another web process. A second client on the same app object
    would run a second event loop, which a Redis connection pool cannot follow."""
    from portal.app import create_app

    def make() -> TestClient:
        return TestClient(create_app(settings), base_url="http://testserver.local")

    return make


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


def form_token(client: TestClient, path: str = "/admin/sign-in") -> str:
    """The CSRF token a page's form carries."""
    page = client.get(path)
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token in the form at {path} (status {page.status_code})"
    return match.group(1)


def post_form(
    client: TestClient, path: str, data: dict, *, token_from: str | None = None, **kwargs
):
    """POST a form the way a browser does: with the CSRF token from the page it came from."""
    token = form_token(client, token_from or path)
    return client.post(path, data={**data, "_csrf_token": token}, **kwargs)


def sign_in(client: TestClient, email: str, password: str = ADMIN_PASSWORD):
    return post_form(
        client, "/admin/sign-in", {"email": email, "password": password}, follow_redirects=False
    )


@pytest.fixture
def admin_id(settings: Settings) -> int:
    return run(make_admin("ada@example.org", "Ada Admin", ADMIN_PASSWORD))


@pytest.fixture
def admin_client(client: TestClient, admin_id: int) -> TestClient:
    response = sign_in(client, "ada@example.org")
    assert response.status_code in (302, 303), response.text
    return client
