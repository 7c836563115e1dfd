"""Browser tests: the real app served by uvicorn, driven by Playwright in Debian's Chromium.

The server is a subprocess, not a thread: the app binds Piccolo's tables to its
database globally, and other tests in the same pytest process rebind them to their
own throwaway databases, which would pull the database out from under a server
thread. The subprocess runs `portal serve` with settings from the environment, on
a migrated SQLite file, with the embedded worker and scheduler, like `make run`.

Playwright cannot download browsers here, so it launches /usr/bin/chromium. Without
it every browser test skips; `.ci/run` installs it and fails if any was skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

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


def _server_env(tmp: Path, port: int) -> dict[str, str]:
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
    env = _server_env(tmp, port)
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


@pytest.fixture
def page(chromium, live_server: LiveServer):
    """A fresh page with no cookies, its addresses relative to the live server."""
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def axe_check(page) -> None:
    """Fail the test with every WCAG 2.2 AA violation axe-core finds on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    if results.violations_count:
        pytest.fail(f"axe-core on {page.url}:\n{results.generate_report()}", pytrace=False)


def sign_in(page, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    """Sign in the way a person does: by the form's visible labels."""
    page.goto("/admin/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
