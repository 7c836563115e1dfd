"""Deadline-spike benchmark: many applicants submitting with a 200 KB document as a round closes.

For each database (SQLite, then PostgreSQL) it seeds one open round and N verified
applicants with complete drafts (answers and statements, no CV yet), serves the portal
as in production (`uvicorn portal.asgi:app --workers 2`, sessions, CSRF and rate limits
in Redis, embedded worker and scheduler off), then every applicant, concurrently, over
HTTP: signs in, uploads a 200 KB PDF CV through the streamed upload route, reads the
review page and submits. Half submit at once (the spike); the other half submit spread
over the seconds around the closing instant. It prints throughput, p50/p95/p99 of the
submit request and the counts that must be zero: lost, accepted late, refused on time,
duplicate submissions, 5xx. See bench/README.md ("Deadline spike"); run with
`make bench-deadline`, `--help` for options.

Load goes only to 127.0.0.1; `X-Forwarded-For: 10.99.x.y` values are header values only.
Every process, Redis database and PostgreSQL database used is cleaned up on exit, error
or Ctrl+C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import pages  # noqa: E402  (bench/pages.py: the uvicorn servers, the portal's environment)
import seed  # noqa: E402
from _support import HOST, flush_redis, log, run_cleanly, use_postgres  # noqa: E402
from pages import Processes, Server  # noqa: E402

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
PG_DATABASE = "portal_spike"
PASSWORD = "deadline-spike-password-1"  # noqa: S105 - a throwaway seeded account
DOCUMENT_BYTES = 200 * 1024
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
BOUNDARY = "deadline-spike-boundary"
# Bounded client timeouts: a stuck request is recorded as an error, never waited on forever.
TIMEOUT = 60.0


def pdf_document(index: int) -> bytes:
    """A 200 KB file the upload route takes for a PDF (magic bytes, no markup), distinct per applicant."""
    head = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    tail = b"trailer\n%%EOF\n"
    filler_line = f"% applicant {index:05d} padding ".encode().ljust(63, b".") + b"\n"
    body = filler_line * ((DOCUMENT_BYTES - len(head) - len(tail)) // len(filler_line) + 1)
    return (head + body)[: DOCUMENT_BYTES - len(tail)] + tail


def multipart(token: str, filename: str, data: bytes) -> bytes:
    """The upload form's order: the CSRF token first, then the file (the route streams the file)."""
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n{token}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


# --- seeding -----------------------------------------------------------------------------


@dataclass
class Seeded:
    round_id: int
    applications: dict[str, int]  # email -> application id


async def seed_spike(settings, applicants: int, now: datetime) -> Seeded:
    """One published seat with a question and two criteria, an open round with grace 0,
    and `applicants` verified applicants each with a complete draft but no CV."""
    from portal import db
    from portal.domain.accounts.credentials import Role, hash_password
    from portal.domain.applications.drafts import save_answers, start_application
    from portal.domain.audit import Actor
    from portal.domain.rounds.entry import RoundInput
    from portal.domain.rounds.times import create_round
    from portal.domain.seats import editing as seats
    from portal.domain.seats.parts import CriterionInput, QuestionInput
    from portal.tables import Criterion, Question, User

    engine = db.bind(db.engine_for(settings))
    with contextlib.redirect_stdout(io.StringIO()):  # the migration runner's chatter
        await db.migrate(engine)
    password_hash = hash_password(PASSWORD)  # one hash for all: argon2 is slow on purpose
    async with db.write_transaction():
        admin = (
            await User.insert(
                User(email="spike-admin@example.org", name="Spike Admin", role=Role.admin.value)
            ).returning(User.id)
        )[0]["id"]
        actor = Actor(admin, "spike-admin@example.org")
        seat_id = await seats.create_seat(
            seed._seat_input(
                0, "Deadline spike seat", "Everyone applying at the last minute", "Online"
            ),
            actor,
            now,
        )
        for title in ("Lived experience", "Representing others"):
            await seats.add_criterion(
                seat_id, CriterionInput(title=title, guidance="", weight=1), actor, now
            )
        await seats.add_question(
            seat_id, QuestionInput(prompt="Why this seat?", word_limit=300), actor, now
        )
        await seats.set_published(seat_id, True, actor, now)
        # Closes far ahead for now; the load phase moves the closing instant (see `set_closing`).
        # Grace 0, so any submission received at or after the closing instant is "accepted late".
        entry = RoundInput.at(now - timedelta(days=1), now + timedelta(days=1), grace_minutes=0)
        round_id = await create_round(seat_id, entry, actor, now)
        question = (await Question.select(Question.id).where(Question.seat == seat_id).first())[
            "id"
        ]
        criteria = [
            r["id"] for r in await Criterion.select(Criterion.id).where(Criterion.seat == seat_id)
        ]
    applications = {}
    for i in range(applicants):
        email = f"applicant{i:04d}@spike.example.org"
        async with db.write_transaction():
            user_id = (
                await User.insert(
                    User(
                        email=email,
                        name=f"Applicant {i}",
                        role=Role.applicant.value,
                        password_hash=password_hash,
                        email_verified_at=now,
                    )
                ).returning(User.id)
            )[0]["id"]
            application_id = await start_application(user_id, round_id, now)
            await save_answers(
                application_id,
                user_id,
                {question: f"Because applicant {i} has something to offer."},
                {c: f"Applicant {i}'s evidence for criterion {c}." for c in criteria},
                now,
            )
        applications[email] = application_id
    return Seeded(round_id, applications)


async def set_closing(settings, round_id: int, closes_at: datetime) -> None:
    """Move the round's closing instant to just ahead of the load (a direct update:
    the domain's extend_round only ever moves it later, and this is a test fixture)."""
    from portal import db
    from portal.tables import Round

    db.bind(db.engine_for(settings))
    async with db.write_transaction():
        await Round.update({Round.closes_at: closes_at}).where(Round.id == round_id)


async def read_outcome(settings, round_id: int) -> tuple[datetime, int, dict[int, list[datetime]]]:
    """The round's closing instant and grace, and each application's submission times."""
    from portal import db
    from portal.tables import Application, Round, Submission

    db.bind(db.engine_for(settings))
    async with db.read_transaction():
        row = (
            await Round.select(Round.closes_at, Round.grace_minutes)
            .where(Round.id == round_id)
            .first()
        )
        rows = await Submission.select(Submission.application, Submission.received_at).where(
            Submission.application.is_in(
                Application.select(Application.id).where(Application.round == round_id)
            )
        )
    by_application: dict[int, list[datetime]] = {}
    for r in rows:
        by_application.setdefault(r["application"], []).append(r["received_at"])
    return row["closes_at"], row["grace_minutes"], by_application


# --- one applicant -----------------------------------------------------------------------


@dataclass
class Attempt:
    email: str
    application_id: int
    edge: bool  # submits around the closing instant (else in the spike)
    ready: bool = False
    sent_at: datetime | None = None
    seconds: float | None = None  # the submit request, sent to response
    upload_seconds: float | None = None
    ended: float | None = None  # time.monotonic() when the submit's response came
    late_start: float = 0.0  # seconds after its scheduled instant the submit was sent
    status: int | None = None
    accepted: bool = False
    error: str = ""
    fives: int = 0  # 5xx on any request of this applicant


def token_of(html: str) -> str:
    match = TOKEN.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


async def applicant(
    base: str, index: int, attempt: Attempt, submit_at: float | None, spike: asyncio.Event
) -> None:
    import httpx

    forwarded = f"10.99.{index // 250}.{index % 250 + 1}"  # a distinct client address per applicant
    async with httpx.AsyncClient(
        base_url=base,
        headers={"X-Forwarded-For": forwarded},
        timeout=httpx.Timeout(TIMEOUT, connect=10.0),
        # uvicorn closes idle keep-alive connections after 5 s; an applicant waiting
        # for the spike must not send its submit down one the server is closing (a
        # client-side ReadError, not the portal's answer).
        limits=httpx.Limits(keepalive_expiry=3.0),
        follow_redirects=False,
    ) as client:
        try:

            async def checked(
                response: httpx.Response, what: str, ok: tuple[int, ...]
            ) -> httpx.Response:
                if response.status_code >= 500:
                    attempt.fives += 1
                if response.status_code not in ok:
                    raise RuntimeError(f"{what}: HTTP {response.status_code}")
                return response

            page = await checked(await client.get("/account/sign-in"), "sign-in page", (200,))
            await checked(
                await client.post(
                    "/account/sign-in",
                    data={
                        "email": attempt.email,
                        "password": PASSWORD,
                        "_csrf_token": token_of(page.text),
                    },
                ),
                "sign in",
                (302, 303),
            )
            documents = f"/applications/{attempt.application_id}/documents"
            page = await checked(await client.get(documents), "documents page", (200,))
            started = time.monotonic()
            await checked(
                await client.post(
                    f"{documents}/cv",
                    content=multipart(token_of(page.text), f"cv-{index}.pdf", pdf_document(index)),
                    headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                ),
                "upload",
                (302, 303),
            )
            attempt.upload_seconds = time.monotonic() - started
            page = await checked(
                await client.get(f"/applications/{attempt.application_id}/review"),
                "review page",
                (200,),
            )
            token = token_of(page.text)
            attempt.ready = True
        except (httpx.HTTPError, RuntimeError) as exc:
            attempt.error = f"before submit: {type(exc).__name__}: {exc}"
            return
        # Wait for this applicant's moment: the spike (everyone ready) or a set instant.
        if submit_at is None:
            await spike.wait()
        else:
            await asyncio.sleep(max(0.0, submit_at - time.time()))
            attempt.late_start = max(0.0, time.time() - submit_at)
        attempt.sent_at = datetime.now(UTC)
        started = time.monotonic()
        try:
            response = await client.post(
                f"/applications/{attempt.application_id}/submit", data={"_csrf_token": token}
            )
        except httpx.HTTPError as exc:
            attempt.error = f"submit: {type(exc).__name__}: {exc}"
            return
        finally:
            attempt.ended = time.monotonic()
            attempt.seconds = attempt.ended - started
        attempt.status = response.status_code
        if response.status_code >= 500:
            attempt.fives += 1
        attempt.accepted = response.status_code in (302, 303) and response.headers.get(
            "location", ""
        ).endswith(f"/applications/{attempt.application_id}/receipt")


# --- one target --------------------------------------------------------------------------


def start_portal(
    processes: Processes, name: str, env: dict[str, str], folder: Path, workers: int
) -> Server:
    """`uvicorn portal.asgi:app --workers N`, as `portal serve` runs it, believing X-Forwarded-For
    from 127.0.0.1 (PORTAL_TRUSTED_PROXIES); tracked by `processes`, so `stop_all` ends it."""
    options = ["--workers", str(workers), "--proxy-headers", "--forwarded-allow-ips", HOST]
    return processes.start(name, "portal.asgi:app", env, folder, options=options)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def run_target(label: str, database_url: str, folder: Path, processes: Processes, args) -> dict:
    from portal.settings import Settings

    settings = Settings(database_url=database_url, var_dir=folder / f"var-{label}")
    log(f"[{label}] seeding {args.applicants} applicants with complete drafts")
    seeded_at = datetime.now(UTC)
    seeded = asyncio.run(seed_spike(settings, args.applicants, seeded_at))
    flush_redis(args.redis)
    env = pages.portal_env(database_url, folder / f"var-{label}", redis_url=args.redis)
    env.update(
        {
            "PORTAL_TRUSTED_PROXIES": HOST,
            "PORTAL_SECRET_KEY": "deadline-spike-"
            + os.urandom(16).hex(),  # one key for all workers
        }
    )
    server = start_portal(processes, f"portal-{label}", env, folder, args.workers)
    pages.wait_ready(server)
    time.sleep(1)  # the second worker answers /healthz a moment later
    log(f"[{label}] {args.workers} web processes on {server.base}, Redis {args.redis}")

    closes_at = (datetime.now(UTC) + timedelta(seconds=args.lead)).replace(microsecond=0)
    asyncio.run(set_closing(settings, seeded.round_id, closes_at))
    log(
        f"[{label}] the round closes at {closes_at:%H:%M:%S} UTC ({args.lead:g} s from now), grace 0"
    )
    emails = list(seeded.applications)
    edge_count = len(emails) // 2
    attempts = [
        Attempt(email, seeded.applications[email], edge=i >= len(emails) - edge_count)
        for i, email in enumerate(emails)
    ]
    # Edge applicants: submit instants evenly over [closes - edge, closes + edge].
    close_epoch = closes_at.timestamp()
    span = args.edge_seconds
    instants = [
        close_epoch - span + (2 * span * k / max(edge_count - 1, 1)) for k in range(edge_count)
    ]
    schedule = [None] * (len(emails) - edge_count) + instants

    async def load() -> tuple[float, float]:
        spike = asyncio.Event()
        tasks = [
            asyncio.create_task(applicant(server.base, i, a, at, spike))
            for i, (a, at) in enumerate(zip(attempts, schedule, strict=True))
        ]
        spikers = [a for a in attempts if not a.edge]
        # Release the spike when every spike applicant is ready (or failed), bounded in time.
        limit = time.monotonic() + args.lead
        while time.monotonic() < limit and not all(a.ready or a.error for a in spikers):
            await asyncio.sleep(0.05)
        spike.set()
        spike_started = time.monotonic()
        log(
            f"[{label}] spike released {close_epoch - time.time():.1f} s before the closing instant"
        )
        gathered = asyncio.gather(*tasks, return_exceptions=True)
        # On Ctrl+C the gather ends with CancelledError: mark it seen, the clean-up reports it.
        gathered.add_done_callback(lambda f: None if f.cancelled() else f.exception())
        outcomes = await asyncio.wait_for(gathered, timeout=args.lead + span + 3 * TIMEOUT)
        for attempt, outcome in zip(attempts, outcomes, strict=True):
            if isinstance(outcome, BaseException):  # a bug here, not the portal: shown, not hidden
                attempt.error = attempt.error or f"{type(outcome).__name__}: {outcome}"
        spike_ended = max((a.ended for a in spikers if a.ended), default=spike_started)
        return spike_started, spike_ended

    wall = time.monotonic()
    spike_started, spike_ended = asyncio.run(load())
    wall = time.monotonic() - wall
    round_closes, grace, submissions = asyncio.run(read_outcome(settings, seeded.round_id))
    processes.stop_all()
    flush_redis(args.redis)

    effective_end = round_closes + timedelta(minutes=grace)
    margin = timedelta(seconds=args.margin)
    submit_times = [a.seconds for a in attempts if a.status is not None and a.seconds is not None]
    spike_done = [a for a in attempts if not a.edge and a.accepted]
    result = {
        "target": label,
        "applicants": len(attempts),
        "ready": sum(a.ready for a in attempts),
        "accepted": sum(a.accepted for a in attempts),
        "refused": sum(
            a.status is not None and not a.accepted and a.status < 500 for a in attempts
        ),
        "spike_throughput": len(spike_done) / max(spike_ended - spike_started, 1e-9),
        "wall_seconds": wall,
        "p50": percentile(submit_times, 0.50) * 1000,
        "p95": percentile(submit_times, 0.95) * 1000,
        "p99": percentile(submit_times, 0.99) * 1000,
        "upload_p50": percentile([a.upload_seconds for a in attempts if a.upload_seconds], 0.5)
        * 1000,
        "upload_p99": percentile([a.upload_seconds for a in attempts if a.upload_seconds], 0.99)
        * 1000,
        "lost": sum(a.accepted and not submissions.get(a.application_id) for a in attempts),
        "accepted_late": sum(t >= effective_end for times in submissions.values() for t in times),
        "refused_on_time": sum(
            a.status is not None
            and not a.accepted
            and a.status < 500
            and a.sent_at is not None
            and a.sent_at < effective_end - margin
            for a in attempts
        ),
        # Information, not a failure: sent before the deadline but inside the margin, and
        # refused because the server read its clock after the deadline (queued behind others).
        "refused_in_margin": sum(
            a.status is not None
            and not a.accepted
            and a.status < 500
            and a.sent_at is not None
            and effective_end - margin <= a.sent_at < effective_end
            for a in attempts
        ),
        "duplicates": sum(len(times) - 1 for times in submissions.values() if len(times) > 1),
        "fives": sum(a.fives for a in attempts),
        "errors": [f"{a.email}: {a.error}" for a in attempts if a.error],
        "edge_before": sum(
            a.edge and a.sent_at is not None and a.sent_at < effective_end for a in attempts
        ),
        "edge_after": sum(
            a.edge and a.sent_at is not None and a.sent_at >= effective_end for a in attempts
        ),
        "edge_accepted": sum(a.edge and a.accepted for a in attempts),
        "edge_delayed": sum(a.edge and a.late_start > 0.5 for a in attempts),
    }
    log(
        f"[{label}] done in {wall:.1f} s: {result['accepted']} accepted, {result['refused']} refused, "
        f"{len(result['errors'])} client errors"
    )
    for line in result["errors"][:5]:
        log(f"    {line}")
    return result


def report(results: list[dict], args) -> bool:
    header = (
        f"{'target':<16} {'spike sub/s':>11} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'upload p50/p99 ms':>18} "
        f"{'accepted':>8} {'refused':>7} | {'lost':>4} {'late':>4} {'refused on time':>15} {'dupl':>4} {'5xx':>4}"
    )
    log("\n" + header)
    log("-" * len(header))
    clean = True
    for r in results:
        zeros = (r["lost"], r["accepted_late"], r["refused_on_time"], r["duplicates"], r["fives"])
        clean &= not any(zeros) and not r["errors"]
        log(
            f"{r['target']:<16} {r['spike_throughput']:11.1f} {r['p50']:8.0f} {r['p95']:8.0f} {r['p99']:8.0f} "
            f"{r['upload_p50']:8.0f} / {r['upload_p99']:7.0f} {r['accepted']:8d} {r['refused']:7d} | "
            f"{r['lost']:4d} {r['accepted_late']:4d} {r['refused_on_time']:15d} {r['duplicates']:4d} {r['fives']:4d}"
        )
        log(
            f"{'':<16} around the deadline: {r['edge_before']} sent before it, {r['edge_after']} after, "
            f"{r['edge_accepted']} accepted; {r['refused_in_margin']} refused although sent "
            f"less than {args.margin:g} s before the deadline; {r['edge_delayed']} sent over 0.5 s after their slot; "
            f"{len(r['errors'])} client errors"
        )
    log("-" * len(header))
    log(
        f"spike sub/s: accepted submits of the {args.applicants - args.applicants // 2} spike applicants per second, "
        "from the release to the last response; p50/p95/p99: every submit request that got a response."
    )
    log(
        f"refused on time: refused although sent more than {args.margin:g} s before the deadline; "
        "late: a Submission received at or after closes_at + grace (grace 0)."
    )
    log(f"Load average at the end: {os.getloadavg()[0]:.1f}")
    log("Counts that must be zero: " + ("all zero" if clean else "NOT ALL ZERO (see above)"))
    return clean


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--applicants", type=int, default=64, help="concurrent applicants (default 64)"
    )
    parser.add_argument("--workers", type=int, default=2, help="web processes (default 2)")
    parser.add_argument(
        "--lead",
        type=float,
        default=60,
        help="seconds from the start of the load to the closing instant (default 60: 64 sign-ins and "
        "uploads take about 30 s on 2 busy cores, and the spike should be over before the edge)",
    )
    parser.add_argument(
        "--edge-seconds",
        type=float,
        default=3,
        help="half the applicants submit spread over closing ± this many seconds (default 3)",
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=2,
        help="a refusal counts as 'refused on time' when sent more than this many seconds before the deadline (default 2)",
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help=f"a spare Redis database, flushed before and after (default {DEFAULT_REDIS_URL})",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", pages.DEFAULT_PG_ADMIN_URL),
        help=f"a PostgreSQL server to create the scratch database {PG_DATABASE!r} on",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args(argv)
    if not (1 <= args.applicants <= 1000 and 1 <= args.workers <= 8 and 5 <= args.lead <= 300):
        parser.error(
            "keep --applicants within 1-1000, --workers within 1-8 and --lead within 5-300 s"
        )
    if not (0 <= args.edge_seconds < args.lead and 0 <= args.margin <= 60):
        parser.error("keep --edge-seconds below --lead and --margin within 0-60 s")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log(
        f"Deadline spike: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}, {args.applicants} applicants, {args.workers} web processes"
    )
    folder = Path(tempfile.mkdtemp(prefix="portal-spike-"))
    processes = Processes()
    scratch: list[str] = []  # the PostgreSQL database, once created

    def clean_up() -> None:
        processes.stop_all()
        with contextlib.suppress(Exception):
            flush_redis(args.redis)
        seed.drop_postgres_databases(args.postgres_url, scratch)
        shutil.rmtree(folder, ignore_errors=True)

    def run() -> int:
        results = []
        if not args.no_sqlite:
            results.append(run_target("sqlite", seed.sqlite_url(folder), folder, processes, args))
        if use_postgres(args.no_postgres, args.postgres_url):
            scratch.append(PG_DATABASE)
            asyncio.run(seed.recreate_postgres_database(args.postgres_url, PG_DATABASE))
            url = seed.with_database(args.postgres_url, PG_DATABASE)
            results.append(run_target("postgres", url, folder, processes, args))
        clean = report(results, args) if results else False
        return 0 if clean else 1

    return run_cleanly(run, clean_up, stopping="the servers")


if __name__ == "__main__":
    sys.exit(main())
