"""Reminder fan-out benchmark: a reminder falls due for 10,000 drafts at once.

For each database (SQLite, then PostgreSQL when reachable) it seeds one open round with
N applicants holding drafts (bulk inserts), then, round after round:

1. starts an SMTP sink (aiosmtpd, its own process, logging each message's arrival time
   and Message-ID), two `dramatiq workers.actors` worker processes and `portal
   scheduler` (sweep every 5 s, as deployed), all on a Redis broker;
2. measures the reference: the same sink's raw throughput from one process sending
   with aiosmtplib (a new connection per message, as the worker does) at the workers'
   total concurrency;
3. makes the round's 3-hour reminder fall due (moves `closes_at` to 3 h from now, minus
   one second) and enqueues `plan_reminders` on the broker, as a scheduler tick does;
4. waits for every reminder to be delivered and prints the time from "due" to the last
   delivery the sink saw, messages per second, the ratio to the raw reference, and the
   counts that must be zero: duplicates (a Message-ID received twice) and missing (a
   planned reminder never received), plus reminders or mails planned twice.

Then the round's reminders and mails are deleted and the next round starts. Medians of
the rounds are printed at the end. See bench/README.md ("Reminder fan-out"); run with
`make bench-reminders`, `--help` for options. Redis: PORTAL_BENCH_REDIS_URL (a database
it may flush) or, unset, its own redis-server on a spare port. Every process, the
scratch PostgreSQL database and the temporary folder are removed on exit, error or
Ctrl+C. Exit status 0 when every must-be-zero count is zero.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import seed  # noqa: E402
from _support import (  # noqa: E402  (bench/_support.py: processes, environment, clean-up)
    DEFAULT_PG_ADMIN_URL,
    HOST,
    flush_redis,
    free_port,
    log,
    run_cleanly,
    server_env,
    spawn,
    use_postgres,
)

BIN = Path(sys.executable).parent
DEFAULT_PG_URL = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_ADMIN_URL)
START_SECONDS = 60


# --- the SMTP sink (run as `reminder_fanout.py --sink PORT FILE`) -------------------------


def run_sink(port: int, path: Path) -> None:
    """Accept everything; one line per message: arrival time and Message-ID."""
    from email.parser import BytesHeaderParser

    from aiosmtpd.controller import Controller

    out = path.open("a", buffering=1)

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            message_id = BytesHeaderParser().parsebytes(envelope.content)["Message-ID"]
            out.write(f"{time.time():.6f} {message_id}\n")
            return "250 OK"

    controller = Controller(Handler(), hostname=HOST, port=port, ready_timeout=10)
    controller.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("sink ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()
        out.close()


def read_sink(path: Path, suffix: str) -> list[tuple[float, str]]:
    rows = []
    for line in path.read_text().splitlines():
        at, _, message_id = line.partition(" ")
        if message_id.endswith(suffix):
            rows.append((float(at), message_id))
    return rows


# --- processes ---------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def log(self, tail: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]


class Procs:
    """Every process this run started; each in its own group, ended by `stop_all`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log_path = self.folder / f"{name}-{len(self.started)}.log"
        popen = spawn(argv, env, log_path)
        proc = Proc(name, popen, log_path)
        self.started.append(proc)
        return proc

    def wait_for(self, proc: Proc, text: str, count: int = 1) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited at start-up:\n{proc.log()}")
            if proc.log(1_000_000).count(text) >= count:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{proc.name} was not ready in {START_SECONDS} s:\n{proc.log()}")

    def stop_all(self) -> None:
        # SIGTERM to each leader only: dramatiq forwards it to its worker processes.
        for proc in self.started:
            if proc.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=5)
        self.started.clear()


def start_redis(procs: Procs) -> str:
    redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    argv = [redis_server, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    proc = procs.start("redis", [*argv, "--dir", str(procs.folder)])
    procs.wait_for(proc, "Ready to accept connections")
    return f"redis://{HOST}:{port}/0"


def portal_env(database_url: str, broker_url: str, smtp_url: str, var_dir: Path) -> dict:
    return server_env(
        {
            "PICCOLO_CONF": "portal.piccolo_conf",
            "PORTAL_ENV": "development",
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_BROKER_URL": broker_url,  # the broker only: no web process here
            "PORTAL_SMTP_URL": smtp_url,
            "PORTAL_VAR_DIR": str(var_dir),
            "PORTAL_SECRET_KEY": "reminder-fanout-bench-" + "x" * 40,
            "PORTAL_BASE_URL": "http://portal.bench",
            "PORTAL_LOG_LEVEL": "WARNING",
            # As in production: each worker keeps a PostgreSQL pool (ignored on SQLite).
            "PORTAL_DATABASE_POOL": os.environ.get("PORTAL_BENCH_POOL", "10"),
        }
    )


# --- seeding -----------------------------------------------------------------------------


async def seed_drafts(settings, applicants: int) -> int:
    """One published seat and an open round (3-hour reminder only, not yet due) with
    `applicants` verified applicants holding empty drafts. Bulk inserts, 500 rows each."""
    from portal import db
    from portal.tables import Application, Round, Seat, User

    engine = db.bind(db.engine_for(settings))
    with contextlib.redirect_stdout(io.StringIO()):  # the migration runner's chatter
        await db.migrate(engine)
    now = datetime.now(UTC)
    async with db.write_transaction():
        seat = await Seat.insert(
            Seat(slug="fan-out", title="Fan-out seat", published=True)
        ).returning(Seat.id)
        round_id = (
            await Round.insert(
                Round(
                    seat=seat[0]["id"],
                    opens_at=now - timedelta(days=14),
                    closes_at=now + timedelta(days=30),
                    reminder_hours="3",
                    closed_notice=False,
                )
            ).returning(Round.id)
        )[0]["id"]
    for start in range(0, applicants, 500):
        emails = [
            f"drafter{i:05d}@fanout.example.org" for i in range(start, min(start + 500, applicants))
        ]
        async with db.write_transaction():
            await User.insert(
                *[
                    User(
                        email=e, name=f"Drafter {e[7:12]}", role="applicant", email_verified_at=now
                    )
                    for e in emails
                ]
            )
            users = await User.select(User.id).where(User.email.is_in(emails))
            await Application.insert(
                *[Application(applicant=u["id"], round=round_id, status="draft") for u in users]
            )
    return round_id


async def reset_round(settings, round_id: int, *, due: bool) -> None:
    """Forget the previous round's reminders and mails; `due`: the 3-hour reminder fell
    due a second ago, otherwise it is a month away."""
    from portal import db
    from portal.tables import OutboxMessage, Reminder, Round

    db.bind(db.engine_for(settings))
    now = datetime.now(UTC)
    closes_at = now + (timedelta(hours=3, seconds=-1) if due else timedelta(days=30))
    async with db.write_transaction():
        if not due:
            await Reminder.delete(force=True)
            await OutboxMessage.delete(force=True)
        await Round.update({Round.closes_at: closes_at}).where(Round.id == round_id)


async def progress(settings) -> tuple[int, int, int]:
    """(reminder rows, outbox rows, sent outbox rows)."""
    from portal import db
    from portal.tables import OutboxMessage, Reminder

    db.bind(db.engine_for(settings))
    return (
        await Reminder.count(),
        await OutboxMessage.count(),
        await OutboxMessage.count().where(OutboxMessage.status == "sent"),
    )


async def planned_message_ids(settings) -> tuple[list[str], int]:
    """Every planned mail's Message-ID, and how many reminder rows repeat a key."""
    from portal import db
    from portal.mail.smtp import message_id_for
    from portal.tables import OutboxMessage, Reminder

    db.bind(db.engine_for(settings))
    keys = await OutboxMessage.select(OutboxMessage.dedupe_key)
    reminders = await Reminder.select(
        Reminder.kind, Reminder.round, Reminder.recipient, Reminder.offset_minutes
    )
    repeated = len(reminders) - len({tuple(r.values()) for r in reminders})
    return [message_id_for(k["dedupe_key"]) for k in keys], repeated


# --- the reference -----------------------------------------------------------------------


async def raw_throughput(smtp_port: int, count: int, concurrency: int) -> float:
    """Messages per second one process gets through the sink with aiosmtplib.send."""
    from email.message import EmailMessage

    import aiosmtplib

    semaphore = asyncio.Semaphore(concurrency)
    body = "A reminder of about the same size as the portal's. " * 12

    async def one(i: int) -> None:
        msg = EmailMessage()
        msg["From"] = "Seat portal <no-reply@localhost>"
        msg["To"] = f"raw{i}@fanout.example.org"
        msg["Subject"] = "Your application is still a draft"
        msg["Message-ID"] = f"<raw-{i}@bench-raw>"
        msg.set_content(body)
        async with semaphore:
            await aiosmtplib.send(msg, hostname=HOST, port=smtp_port, timeout=30)

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.monotonic() - started)


# --- one round ---------------------------------------------------------------------------


@dataclass
class Result:
    database: str
    round: int
    applicants: int
    planned_seconds: float
    seconds: float  # due -> the sink's last delivery
    per_second: float
    raw_per_second: float
    duplicates: int
    missing: int
    repeated_reminders: int
    extra_mails: int

    @property
    def ratio(self) -> float:
        return self.per_second / self.raw_per_second

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.missing or self.repeated_reminders or self.extra_mails)


def run_round(
    label: str, number: int, settings, round_id: int, redis_url: str, args, folder: Path
) -> Result:
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    procs = Procs(folder)
    try:
        flush_redis(redis_url)
        asyncio.run(reset_round(settings, round_id, due=False))
        smtp_port = free_port()
        sink_file = folder / f"sink-{label}-{number}.txt"
        sink = procs.start(
            "sink", [sys.executable, __file__, "--sink", str(smtp_port), str(sink_file)]
        )
        env = portal_env(
            settings.database_url, redis_url, f"smtp://{HOST}:{smtp_port}", folder / "var"
        )
        workers = [
            procs.start(
                f"worker{i}",
                [str(BIN / "dramatiq"), "workers.actors", "-p", "1", "-t", str(args.threads)],
                env,
            )
            for i in range(args.workers)
        ]
        scheduler = procs.start("scheduler", [sys.executable, "-m", "portal.cli", "scheduler"], env)
        procs.wait_for(sink, "sink ready")
        for worker in workers:
            procs.wait_for(worker, "is ready for action")
        procs.wait_for(scheduler, "Scheduler running")

        raw = asyncio.run(raw_throughput(smtp_port, args.reference, args.workers * args.threads))

        asyncio.run(reset_round(settings, round_id, due=True))
        due = time.time()
        broker = RedisBroker(url=redis_url, namespace="portal")
        broker.enqueue(
            dramatiq.Message(
                queue_name="mail", actor_name="plan_reminders", args=(), kwargs={}, options={}
            )
        )
        broker.client.close()

        planned_at = None
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            reminders, mails, sent = asyncio.run(progress(settings))
            if planned_at is None and reminders >= args.applicants:
                planned_at = time.time()
            if sent >= args.applicants and mails >= args.applicants:
                break
            for proc in procs.started:
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"{proc.name} exited:\n{proc.log()}")
            time.sleep(0.25)
        time.sleep(args.settle)  # a sweep or two more: anything sent twice shows up
        received = read_sink(sink_file, "@seat-portal>")
        expected, repeated = asyncio.run(planned_message_ids(settings))
        counts = Counter(mid for _, mid in received)
        last = max((at for at, _ in received), default=time.time())
        seconds = last - due
        return Result(
            database=label,
            round=number,
            applicants=args.applicants,
            planned_seconds=(planned_at or time.time()) - due,
            seconds=seconds,
            per_second=len(counts) / seconds if seconds > 0 else 0.0,
            raw_per_second=raw,
            duplicates=sum(n - 1 for n in counts.values() if n > 1),
            missing=len(set(expected) - set(counts)) + max(0, args.applicants - len(expected)),
            repeated_reminders=repeated,
            extra_mails=max(0, len(expected) - args.applicants),
        )
    finally:
        procs.stop_all()


# --- report ------------------------------------------------------------------------------


def report(results: list[Result]) -> bool:
    log("")
    log(
        "| database | round | drafts | planned s | due -> last delivery s | mails/s | raw sink mails/s | ratio | duplicates | missing |"
    )
    log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        log(
            f"| {r.database} | {r.round} | {r.applicants:,} | {r.planned_seconds:.1f} | {r.seconds:.1f} "
            f"| {r.per_second:.0f} | {r.raw_per_second:.0f} | {r.ratio:.0%} | {r.duplicates} | {r.missing} |"
        )
    for label in dict.fromkeys(r.database for r in results):
        rows = [r for r in results if r.database == label]
        log(
            f"{label}: median of {len(rows)} rounds: due -> last delivery "
            f"{statistics.median(r.seconds for r in rows):.1f} s, "
            f"{statistics.median(r.per_second for r in rows):.0f} mails/s, "
            f"{statistics.median(r.ratio for r in rows):.0%} of the raw sink"
        )
    dirty = [r for r in results if not r.clean]
    for r in dirty:
        log(
            f"NOT CLEAN: {r.database} round {r.round}: {r.duplicates} duplicates, {r.missing} missing, "
            f"{r.repeated_reminders} repeated reminders, {r.extra_mails} extra mails"
        )
    if not dirty:
        log("Duplicates, missing, repeated reminders and extra mails: zero in every round.")
    return not dirty


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applicants", type=int, default=10_000, help="drafts reminded (10000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per database (3)")
    parser.add_argument("--workers", type=int, default=2, help="dramatiq worker processes (2)")
    parser.add_argument(
        "--threads", type=int, default=8, help="threads per worker (8, dramatiq's default)"
    )
    parser.add_argument(
        "--reference", type=int, default=2000, help="messages in the raw sink reference (2000)"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds a round may take (900)")
    parser.add_argument(
        "--settle", type=float, default=6, help="seconds watched after the last delivery (6)"
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--postgres-url", default=DEFAULT_PG_URL, help="a server to create a scratch database on"
    )
    parser.add_argument("--sink", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sink:
        run_sink(int(args.sink[0]), Path(args.sink[1]))
        return 0
    from portal.settings import Settings

    log(
        f"Reminder fan-out: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}, {args.applicants:,} drafts, {args.workers} workers x "
        f"{args.threads} threads, {args.rounds} rounds"
    )
    folder = Path(tempfile.mkdtemp(prefix="portal-fanout-"))
    redis_procs = Procs(folder)
    scratch: list[str] = []  # the PostgreSQL database, once created

    def clean_up() -> None:
        redis_procs.stop_all()
        if os.environ.get("PORTAL_BENCH_REDIS_URL"):
            with contextlib.suppress(Exception):
                flush_redis(os.environ["PORTAL_BENCH_REDIS_URL"])
        seed.drop_postgres_databases(args.postgres_url, scratch)
        shutil.rmtree(folder, ignore_errors=True)

    def run() -> int:
        results: list[Result] = []
        redis_url = os.environ.get("PORTAL_BENCH_REDIS_URL") or start_redis(redis_procs)
        targets = []
        if not args.no_sqlite:
            targets.append(("sqlite", seed.sqlite_url(folder)))
        if use_postgres(args.no_postgres, args.postgres_url):
            pg_name = f"portal_fanout_{secrets.token_hex(3)}"
            scratch.append(pg_name)
            asyncio.run(seed.recreate_postgres_database(args.postgres_url, pg_name))
            targets.append(("postgres", seed.with_database(args.postgres_url, pg_name)))
        for label, url in targets:
            settings = Settings(database_url=url, var_dir=folder / "var")
            started = time.monotonic()
            round_id = asyncio.run(seed_drafts(settings, args.applicants))
            log(
                f"[{label}] seeded {args.applicants:,} drafts in {time.monotonic() - started:.1f} s"
            )
            for number in range(1, args.rounds + 1):
                result = run_round(label, number, settings, round_id, redis_url, args, folder)
                results.append(result)
                log(
                    f"[{label}] round {number}: due -> last delivery {result.seconds:.1f} s "
                    f"({result.per_second:.0f}/s; raw sink {result.raw_per_second:.0f}/s), "
                    f"planned in {result.planned_seconds:.1f} s, "
                    f"{result.duplicates} duplicates, {result.missing} missing"
                )
        return 0 if results and report(results) else 1

    return run_cleanly(run, clean_up, stopping="every process")


if __name__ == "__main__":
    sys.exit(main())
