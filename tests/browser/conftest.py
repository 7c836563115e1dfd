"""Browser tests: the real app served by uvicorn, driven by Playwright in Debian's Chromium.

The server is a subprocess, not a thread: the app binds Piccolo's tables to its
database globally, and other tests in the same pytest process rebind them to their
own throwaway databases, which would pull the database out from under a server
thread. The subprocess runs `portal serve` with settings from the environment, on
a migrated SQLite file, with the embedded worker and scheduler, like `make run`.

Playwright cannot download browsers here, so it launches /usr/bin/chromium. Without
it every browser test skips; `.ci/run` installs it and fails if any was skipped.

The helpers the tests call (seeding, signing in, the mailbox, axe-core) are in helpers.py.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google on a
# closed network; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

ADMIN_EMAIL = "admin@example.org"
ADMIN_NAME = "Bea Browser"
ADMIN_PASSWORD = "browser tests password"
TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class LiveServer:
    url: str
    var_dir: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(tmp: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PICCOLO_CONF="portal.piccolo_conf",
        PORTAL_ENV="test",
        PORTAL_DATABASE_URL=f"sqlite:///{tmp / 'portal.sqlite3'}",
        PORTAL_VAR_DIR=str(tmp / "var"),
        PORTAL_SECRET_KEY="browser-test-secret-" + "x" * 40,
        PORTAL_BASE_URL=f"http://127.0.0.1:{port}",
        PORTAL_EMBEDDED_WORKER="1",
        PORTAL_EMBEDDED_SCHEDULER="1",
        PORTAL_PUBLIC_CACHE_SECONDS="0",
        PORTAL_TRUSTED_PROXIES="127.0.0.1",  # X-Forwarded-For: see `new_context`
        PORTAL_LOG_LEVEL="WARNING",
    )
    return env


def _portal(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "portal.cli", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"portal {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    )


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the portal exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"the portal did not answer /healthz within {timeout:g}s:\n{log.read_text()}"
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The portal on a free loopback port: migrated SQLite, one admin, embedded worker."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); .ci/run installs it")
    tmp = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = server_env(tmp, port)
    _portal(env, "migrate")
    _portal(env, "create-admin", ADMIN_EMAIL, "--name", ADMIN_NAME, "--password", ADMIN_PASSWORD)
    log = tmp / "server.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "portal.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, process, log)
        yield LiveServer(url=url, var_dir=tmp / "var", log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in
# this thread while it is started, and every other test that calls asyncio.run()
# in the same worker would fail. Pytest ends a module's fixtures before it moves on.
@pytest.fixture(scope="module")
def chromium(live_server: LiveServer) -> Iterator[object]:
    """One headless Chromium per test module (each test gets its own context)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()


# Client addresses handed to browser contexts, one each (see `new_context`).
_ADDRESSES = itertools.count()


@pytest.fixture
def new_context(chromium, live_server: LiveServer) -> Iterator[Callable[..., object]]:
    """Make browser contexts on the live server (closed after the test), each with a
    client address of its own in X-Forwarded-For, which the server trusts from
    127.0.0.1: the sign-in limit (10 a minute per address) then counts each person, not
    the whole suite, whatever order the tests run in."""
    contexts = []

    def make(**options):
        n = next(_ADDRESSES)
        forwarded = {"X-Forwarded-For": f"10.0.{n // 250}.{n % 250 + 1}"}
        context = chromium.new_context(
            base_url=live_server.url, extra_http_headers=forwarded, **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    """A fresh page with no cookies, its addresses relative to the live server."""
    return new_context().new_page()


@pytest.fixture
def seeded(request: pytest.FixtureRequest, live_server: LiveServer) -> tuple[str, int, list[int]]:
    """(tag, round id, application ids) of the seed the test module names in SEED, one of
    tests/browser/seeds.py, written to the live server's database for this test."""
    from tests.browser.helpers import seed_round

    return seed_round(live_server, request.module.SEED)
