"""Fault tests: the real processes, broken on purpose.

Each test gets its own stack and ends every process it started, even when it fails:
- its own `redis-server` on a spare loopback port (no persistence) as the Dramatiq
  broker, so a test can stop and restart it while the machine's shared Redis keeps
  running; sessions and rate limits are NOT in Redis (no PORTAL_REDIS_URL: files and
  memory in the web process), so only the broker is broken;
- its own database: a copy of the migrated SQLite template in tmp_path (shared by every
  process through the file), or, with PORTAL_TEST_DATABASE_URL, a PostgreSQL database
  `portal_faults_<random>` created, migrated and dropped here;
- an SMTP sink (aiosmtpd in a thread of the test process) that records every message
  by its Message-ID, so a duplicate is a repeated Message-ID (stable per dedupe key);
- worker (`dramatiq workers.actors`), scheduler (`portal scheduler`) and web
  (`portal serve`) processes started from the environment alone, as in production,
  each in its own process group so a kill reaches its children too; `clock="+5m"`
  runs one under libfaketime (Debian's `faketime`), its host clock 5 minutes out
  (its children's too: the preload is inherited).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import io
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest

from portal import db
from portal.domain.accounts.credentials import hash_password
from portal.settings import PROJECT_ROOT, Settings
from tests.conftest import PG_URL, _create_pg_database
from tests.factories import RoundSetup, make_round, run, set_reminders, write

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
FAKETIME = shutil.which("faketime") or "/usr/bin/faketime"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
SECRET = "fault-tests-secret-" + "x" * 40
START_SECONDS = 45


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Write the `faults` marker into the JUnit XML, so `.ci/run` fails when one skipped."""
    for item in items:
        if item.get_closest_marker("faults") and ("marker", "faults") not in item.user_properties:
            item.user_properties.append(("marker", "faults"))


def note(request: pytest.FixtureRequest, name: str, value: object) -> None:
    """A figure the test measured: a property in the JUnit XML, and a line in the output."""
    request.node.user_properties.append((name, value))
    print(f"{request.node.name}: {name} = {value}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout: float, what: Callable[[], str] | str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    if check():
        return
    pytest.fail(f"timed out after {timeout:g}s: {what() if callable(what) else what}")


def _die_with_parent() -> None:
    """In the child: SIGKILL if pytest itself dies, so nothing outlives the run."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# --- processes ---------------------------------------------------------------------------


def skewed(argv: list[str], clock: str) -> list[str]:
    """`argv` under libfaketime with its host's clock moved by `clock` ("+5m", "-5m"), or
    as is. libfaketime moves the monotonic clock too, and Python's timed lock waits
    (sem_clockwait, which it does not intercept) then run 5 minutes long or return at
    once: a put or a notify still wakes them, so a Dramatiq worker works, but a timer
    that only waits (APScheduler's) does not; run the scheduler unskewed.
    (FAKETIME_DONT_FAKE_MONOTONIC breaks Python's time.sleep with EINVAL instead.)"""
    return [FAKETIME, "-f", clock, *argv] if clock else argv


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path
    terminated: bool = False
    url: str = ""  # a web process's address
    ready: Callable[[], bool] = lambda: True

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def terminate(self) -> None:
        """SIGTERM, once (see `stop`)."""
        if self.alive() and not self.terminated:
            self.terminated = True
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)

    def group_alive(self) -> bool:
        """Whether any process of its group is left (the leader reaped, if it exited)."""
        self.popen.poll()
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - a group member we may not signal
            return True
        return True

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM to the process, then SIGKILL to its group if anything is left.

        Only the leader gets SIGTERM, as from a deploy that signals the main process
        (dramatiq's forwards it to its worker processes); SIGTERM to the whole group
        is what test_sigterm_group.py exercises.
        """
        self.terminate()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        # Children (dramatiq's worker processes) may outlive the parent: end the group.
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def log(self, tail: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""


class Procs:
    """Every process a test started; `stop_all` ends exactly those, newest first."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log_path = self.folder / f"{name}-{len(self.started)}.log"
        with log_path.open("wb") as out:
            popen = subprocess.Popen(
                argv,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        proc = Proc(name, popen, log_path)
        self.started.append(proc)
        return proc

    def kill_all(self) -> None:
        """The end of a test: SIGKILL to every group at once (graceful stops are what the
        tests themselves exercise; here it only costs seconds)."""
        for proc in self.started:
            proc.signal_group(signal.SIGKILL)
        for proc in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.log(1500)}" for p in self.started)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    started = Procs(tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


# --- Redis (broker only) -----------------------------------------------------------------


class RedisServer:
    """A throwaway redis-server: nothing saved, so a restart starts empty."""

    def __init__(self, procs: Procs) -> None:
        self.procs = procs
        self.port = free_port()
        self.proc: Proc | None = None
        self.url = f"redis://{HOST}:{self.port}/0"

    def ping(self) -> bool:
        import redis

        client = redis.Redis(host=HOST, port=self.port, socket_timeout=1, retry=None)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self) -> None:
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", HOST, "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.procs.folder)]
        self.proc = self.procs.start("redis", argv)
        wait_until(self.ping, 15, lambda: f"redis-server did not answer:\n{self.proc.log()}")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.stop()
        assert not self.ping()


@pytest.fixture
def redis_server(procs: Procs) -> RedisServer:
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip(
            f"{REDIS_SERVER} is missing (apt-get install redis-server); .ci/run installs it"
        )
    server = RedisServer(procs)
    server.start()
    return server


# --- SMTP sink ---------------------------------------------------------------------------


@dataclass
class Received:
    message_id: str
    to: str
    subject: str


@dataclass
class SmtpSink:
    """Records every accepted message. `delay`: seconds each DATA waits before its 250
    (`delays`: the same for given recipients, overriding it); a client that hangs up
    during the wait has not had its message accepted (aiosmtpd cancels the handler).
    `data_reply`: refuse every DATA with this reply instead ("550 ..." = permanent).
    `data_started`: the Message-ID of every DATA received, accepted or not."""

    port: int = field(default_factory=free_port)
    delay: float = 0.0
    delays: dict[str, float] = field(default_factory=dict)
    data_reply: str | None = None
    received: list[Received] = field(default_factory=list)
    data_started: list[str] = field(default_factory=list)
    controller: object | None = None

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        controller = Controller(self, hostname=HOST, port=self.port, ready_timeout=10)
        controller.start()
        self.controller = controller

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_reply:
            return self.data_reply
        headers = BytesHeaderParser().parsebytes(envelope.content)
        self.data_started.append(str(headers["Message-ID"]))
        delay = max((self.delays.get(r, self.delay) for r in envelope.rcpt_tos), default=0)
        if delay:
            await asyncio.sleep(delay)
        self.received.append(
            Received(str(headers["Message-ID"]), str(headers["To"]), str(headers["Subject"]))
        )
        return "250 Message accepted for delivery"

    def message_ids(self) -> Counter:
        return Counter(r.message_id for r in list(self.received))

    def duplicates(self) -> dict[str, int]:
        return {mid: n for mid, n in self.message_ids().items() if n > 1}


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


# --- database ----------------------------------------------------------------------------


async def _drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per session; each test copies it (the WAL mode is in the file)."""
    path = tmp_path_factory.mktemp("faults-template") / "portal.sqlite3"
    with contextlib.redirect_stdout(io.StringIO()):  # the migration runner's chatter
        run(db.migrate(db.engine_for(Settings(database_url=f"sqlite:///{path}"))))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def fault_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """A migrated database of this test's own, bound in this process too."""
    pg_name = None
    if PG_URL:
        pg_name = f"portal_faults_{secrets.token_hex(4)}"
        url = run(_create_pg_database(PG_URL, pg_name))
        with contextlib.redirect_stdout(io.StringIO()):
            run(db.migrate(db.engine_for(Settings(database_url=url))))
    else:
        path = tmp_path / "portal.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    settings = Settings(
        env="test",
        database_url=url,
        secret_key=SECRET,
        base_url="http://portal.test",
        var_dir=tmp_path / "var",
        embedded_worker=False,
        embedded_scheduler=False,
        public_cache_seconds=0,
    )
    db.bind(db.engine_for(settings))
    try:
        yield settings
    finally:
        if pg_name:
            run(_drop_pg_database(pg_name))


# --- the stack ---------------------------------------------------------------------------


@dataclass
class Stack:
    settings: Settings
    procs: Procs
    redis: RedisServer
    smtp: SmtpSink
    folder: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env.update(
            PICCOLO_CONF="portal.piccolo_conf",
            PORTAL_ENV="test",
            PORTAL_DATABASE_URL=self.settings.database_url,
            # The broker only: sessions and rate limits stay out of this Redis.
            PORTAL_BROKER_URL=self.redis.url,
            PORTAL_SMTP_URL=self.smtp.url,
            PORTAL_VAR_DIR=str(self.folder / "var"),
            PORTAL_SECRET_KEY=SECRET,
            PORTAL_BASE_URL="http://portal.test",
            PORTAL_EMBEDDED_WORKER="0",
            PORTAL_EMBEDDED_SCHEDULER="0",
            PORTAL_SWEEP_SECONDS="1",
            PORTAL_PUBLIC_CACHE_SECONDS="0",
            PORTAL_TRUSTED_PROXIES=HOST,
            PORTAL_LOG_LEVEL="INFO",
        )
        env.update(extra)
        return env

    def worker(
        self,
        name: str = "worker",
        processes: int = 1,
        threads: int = 2,
        wait: bool = True,
        clock: str = "",
        **env,
    ) -> Proc:
        argv = [str(BIN / "dramatiq"), "workers.actors", "-p", str(processes), "-t", str(threads)]
        proc = self.procs.start(name, skewed(argv, clock), self.env(**env))
        # Each worker process logs this once it consumes.
        proc.ready = lambda: proc.log(1_000_000).count("is ready for action") >= processes
        return self.wait_ready(proc) if wait else proc

    def scheduler(self, name: str = "scheduler", wait: bool = True, clock: str = "", **env) -> Proc:
        argv = [sys.executable, "-m", "portal.cli", "scheduler"]
        proc = self.procs.start(name, skewed(argv, clock), self.env(**env))
        proc.ready = lambda: "Scheduler running" in proc.log(1_000_000)
        return self.wait_ready(proc) if wait else proc

    def web(
        self,
        name: str = "web",
        port: int | None = None,
        wait: bool = True,
        clock: str = "",
        **env,
    ) -> Proc:
        """`portal serve` on a spare (or the given) port; its address is `proc.url`."""
        port = port or free_port()
        argv = [sys.executable, "-m", "portal.cli", "serve", "--host", HOST, "--port", str(port)]
        proc = self.procs.start(name, skewed(argv, clock), self.env(**env))
        proc.url = f"http://{HOST}:{port}"

        def up() -> bool:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{proc.url}/healthz", timeout=2) as response:
                    return response.status == 200
            return False

        proc.ready = up
        return self.wait_ready(proc) if wait else proc

    def wait_ready(self, *procs: Proc) -> Proc:
        """Wait until every one of `procs` is ready (started together, they boot in parallel)."""

        def ready() -> bool:
            for proc in procs:
                if not proc.alive():
                    pytest.fail(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.log()}")
            return all(proc.ready() for proc in procs)

        names = ", ".join(p.name for p in procs)
        wait_until(ready, START_SECONDS, lambda: f"not ready: {names}\n{self.procs.logs()}")
        return procs[0]

    def start(self, *, web: bool = False, worker: bool = True, scheduler: bool = True) -> list:
        """Boot the chosen processes at once and wait for all: [web, worker, scheduler]."""
        chosen = [
            self.web(wait=False) if web else None,
            self.worker(wait=False) if worker else None,
            self.scheduler(wait=False) if scheduler else None,
        ]
        self.wait_ready(*[p for p in chosen if p is not None])
        return chosen

    def send(self, actor_name: str, *args, queue: str = "mail") -> None:
        """Enqueue an actor by name on this stack's broker, as the web app does."""
        import dramatiq
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=self.redis.url, namespace="portal")
        try:
            broker.enqueue(
                dramatiq.Message(
                    queue_name=queue, actor_name=actor_name, args=args, kwargs={}, options={}
                )
            )
        finally:
            broker.client.close()

    def diagnose(self) -> str:
        return (
            f"outbox: {dict(outbox_counts())}; sink: {len(self.smtp.received)}\n{self.procs.logs()}"
        )


@pytest.fixture
def stack(fault_settings, procs, redis_server, smtp_sink, tmp_path) -> Stack:
    return Stack(fault_settings, procs, redis_server, smtp_sink, tmp_path)


# --- data --------------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def outbox_counts(kind: str | None = None) -> Counter:
    from portal.tables import OutboxMessage

    query = OutboxMessage.select(OutboxMessage.status)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return Counter(r["status"] for r in run(query))


def insert_mails(n: int, prefix: str) -> list[int]:
    """n pending outbox rows in one insert (what the domain's enqueue_mail writes)."""
    from portal.tables import OutboxMessage

    t = now()
    rows = [
        OutboxMessage(
            kind="fault_test",
            dedupe_key=f"{prefix}:{i}",
            recipient=f"person{i}@example.org",
            subject=f"Fault test {i}",
            body_text=f"Message {i}.",
            status="pending",
            created_at=t,
            next_attempt_at=t,
        )
        for i in range(n)
    ]
    write(lambda: OutboxMessage.insert(*rows))
    found = run(
        OutboxMessage.select(OutboxMessage.id)
        .where(OutboxMessage.dedupe_key.like(f"{prefix}:%"))
        .order_by(OutboxMessage.id)
    )
    return [r["id"] for r in found]


@dataclass(frozen=True)
class Applicant:
    index: int
    email: str
    user_id: int
    application_id: int


# Hashed at the test suite's cheap argon2 cost (tests/conftest.py); the web processes
# verify with the parameters stored in the hash, so 100 sign-ins cost milliseconds.
PASSWORD = "fault tests applicant password"


def seed_drafts(
    n: int,
    *,
    closes_at: datetime,
    reminder_hours: str = "",
    complete: bool = True,
    prefix: str = "applicant",
) -> tuple[int, list[Applicant]]:
    """A published seat with one question and one criterion, a round closing at
    `closes_at` (no closed-round notice), and n verified applicants with drafts;
    `complete`: answered, with a CV, ready to submit. The seat and round come from the
    factories; the applicants are bulk inserts, as the one-by-one path is too slow here."""
    setup = run(
        make_round(
            title="Fault seat",
            criteria=[("Lived experience", "", 1)],
            questions=[("Why you?", 300, True)],
            opens_at=now() - timedelta(days=14),
            closes_at=closes_at,
        )
    )
    run(set_reminders(setup.round_id, hours=reminder_hours, closed_notice=False))
    emails = [f"{prefix}{i:05d}@example.org" for i in range(n)]
    users, apps = run(_bulk_drafts(setup, emails, prefix, complete))
    applicants = [Applicant(i, e, users[e], apps[users[e]]) for i, e in enumerate(emails)]
    return setup.round_id, applicants


async def _bulk_drafts(
    setup: RoundSetup, emails: list[str], prefix: str, complete: bool
) -> tuple[dict[str, int], dict[int, int]]:
    from portal.tables import Answer, Application, Document, Statement, User

    t = now()
    hashed = hash_password(PASSWORD)
    async with db.write_transaction():
        for chunk in _chunks(emails, 500):
            await User.insert(
                *[
                    User(
                        email=e,
                        name=f"Applicant {e[len(prefix) : len(prefix) + 5]}",
                        role="applicant",
                        password_hash=hashed,
                        email_verified_at=t,
                    )
                    for e in chunk
                ]
            )
        users = {
            r["email"]: r["id"]
            for r in await User.select(User.id, User.email).where(User.email.is_in(emails))
        }
        for chunk in _chunks(emails, 500):
            await Application.insert(
                *[
                    Application(applicant=users[e], round=setup.round_id, status="draft")
                    for e in chunk
                ]
            )
        apps = {
            r["applicant"]: r["id"]
            for r in await Application.select(Application.id, Application.applicant).where(
                Application.round == setup.round_id
            )
        }
        if complete:
            cv = b"%PDF-1.7\n" + b"x" * 100
            for chunk in _chunks(list(apps.values()), 300):
                await Answer.insert(
                    *[Answer(application=a, question=setup.questions[0], text="Me.") for a in chunk]
                )
                await Statement.insert(
                    *[
                        Statement(application=a, criterion=setup.criteria[0], text="Years.")
                        for a in chunk
                    ]
                )
                await Document.insert(
                    *[
                        Document(
                            application=a,
                            kind="cv",
                            filename="cv.pdf",
                            content_type="application/pdf",
                            size=len(cv),
                            sha256="0" * 64,
                            data=cv,
                            uploaded_at=t,
                        )
                        for a in chunk
                    ]
                )
    return users, apps


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- applicants over HTTP ----------------------------------------------------------------


class Browser:
    """One applicant's session against a web process, with its own client address
    (the web process trusts X-Forwarded-For from 127.0.0.1, so the sign-in limit of
    10 a minute applies per applicant, not to the whole test)."""

    def __init__(self, base: str, applicant: Applicant) -> None:
        import httpx

        a = applicant.index
        self.applicant = applicant
        self.client = httpx.AsyncClient(
            base_url=base,
            headers={"X-Forwarded-For": f"10.98.{a // 250}.{a % 250 + 1}"},
            timeout=httpx.Timeout(30.0, connect=5.0),
            follow_redirects=False,
        )
        self.token = ""

    async def sign_in_and_review(self) -> None:
        page = await self.client.get("/account/sign-in")
        response = await self.client.post(
            "/account/sign-in",
            data={
                "email": self.applicant.email,
                "password": PASSWORD,
                "_csrf_token": _token(page.text),
            },
        )
        assert response.status_code in (302, 303), response.text[:500]
        page = await self.client.get(f"/applications/{self.applicant.application_id}/review")
        assert page.status_code == 200, page.text[:500]
        self.token = _token(page.text)

    async def submit(self) -> bool:
        """True when the portal answered with the redirect to the receipt (accepted)."""
        app = self.applicant.application_id
        response = await self.client.post(
            f"/applications/{app}/submit", data={"_csrf_token": self.token}
        )
        return response.status_code == 303 and response.headers.get("location", "").endswith(
            f"/applications/{app}/receipt"
        )

    async def close(self) -> None:
        await self.client.aclose()


def _token(html: str) -> str:
    import re

    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def bounded(calls, limit: int) -> list:
    """Await each call (a coroutine function), at most `limit` at once; exceptions are
    returned in place, not raised."""
    semaphore = asyncio.Semaphore(limit)

    async def one(call):
        async with semaphore:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls), return_exceptions=True)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The test's event loop for its browsers (httpx clients stay on the loop that made
    them); the test calls `loop.run_until_complete` between its synchronous steps."""
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()


def signed_in(
    loop: asyncio.AbstractEventLoop, base: str, applicants: list[Applicant], limit: int = 10
) -> list[Browser]:
    """Sign every applicant in and read their review page (for the submit's CSRF token)."""
    browsers = [Browser(base, a) for a in applicants]
    results = loop.run_until_complete(bounded((b.sign_in_and_review for b in browsers), limit))
    problems = [r for r in results if isinstance(r, BaseException)]
    assert not problems, f"{len(problems)} sign-ins failed, first: {problems[0]!r}"
    return browsers


def close_all(loop: asyncio.AbstractEventLoop, browsers: list[Browser]) -> None:
    async def close() -> None:
        await asyncio.gather(*(b.close() for b in browsers))

    loop.run_until_complete(close())


@dataclass
class Burst:
    """Applicants signed in on their review pages, ready to submit (see `ready_to_submit`)."""

    round_id: int
    applicants: list[Applicant]
    web: Proc
    worker: Proc
    browsers: list[Browser]


@contextlib.contextmanager
def ready_to_submit(stack: Stack, loop: asyncio.AbstractEventLoop, n: int) -> Iterator[Burst]:
    """n complete drafts on a round open for a week, the web, worker and scheduler up, and
    every applicant signed in; their clients are closed at the end, whatever happened."""
    round_id, applicants = seed_drafts(n, closes_at=now() + timedelta(days=7))
    web, worker, _scheduler = stack.start(web=True)
    browsers = signed_in(loop, web.url, applicants)
    try:
        yield Burst(round_id, applicants, web, worker, browsers)
    finally:
        close_all(loop, browsers)


def all_receipts_sent_once(
    stack: Stack, request: pytest.FixtureRequest, application_ids: set[int], figure: str
) -> None:
    """Wait (a minute at most) until the receipt of each application is sent and noted
    as `figure` how long that took; after a sweep or two more (nothing else may arrive)
    the sink holds exactly one receipt for each."""
    started = time.monotonic()
    count = len(application_ids)
    wait_until(lambda: outbox_counts("receipt").get("sent", 0) == count, 60, stack.diagnose)
    note(request, figure, round(time.monotonic() - started, 2))
    wait_until(lambda: len(stack.smtp.received) >= count, 10, stack.diagnose)
    time.sleep(1.5)
    assert stack.smtp.duplicates() == {}
    assert set(stack.smtp.message_ids()) == receipt_message_ids(application_ids)


def submitted_application_ids(round_id: int) -> set[int]:
    from portal.tables import Application, Submission

    rows = run(
        Submission.select(Submission.application).where(
            Submission.application.is_in(
                Application.select(Application.id).where(Application.round == round_id)
            )
        )
    )
    return {r["application"] for r in rows}


def receipt_message_ids(application_ids: set[int]) -> set[str]:
    """The Message-ID each submitted application's receipt carries (version 1)."""
    from portal.mail.smtp import message_id_for

    return {message_id_for(f"receipt:{a}:1") for a in application_ids}
