"""Page benchmark: the public seat list and a seat page under 32 concurrent clients.

Serves three targets side by side and loads them in turn, round after round:

  ceiling          bench/ceiling_app.py: a bare Litestar app rendering the same
                   templates from data held in memory (this stack's ceiling here)
  portal-sqlite    `uvicorn portal.asgi:app` on a seeded SQLite file
  portal-postgres  the same on a seeded PostgreSQL database (skipped if unreachable)

and prints requests/s, p50/p99 and each portal target's ratio to the ceiling measured
in the same run. See bench/README.md. Run with `make bench`; `--help` for options.
Load goes only to 127.0.0.1; every process started here is stopped on exit, error or
Ctrl+C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# The project root (portal), then bench/ (seed, _support).
sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

import seed  # noqa: E402  (bench/seed.py, after the path is set)
from _support import (  # noqa: E402  (bench/_support.py: processes, environment, clean-up)
    BENCH_DIR,
    DEFAULT_PG_ADMIN_URL,
    HOST,
    PROJECT_ROOT,
    die_with_parent,
    free_port,
    log,
    run_cleanly,
    server_env,
    spawn,
    use_postgres,
)

GOAL = 0.80
# Suffix of the optional targets with the page cache off (not part of the goal).
UNCACHED = "-uncached"
PG_BENCH_DATABASE = "portal_bench"
# Identical for the portal and the ceiling: one process, as `portal serve` runs it.
UVICORN_OPTIONS = [
    "--host",
    HOST,
    "--no-access-log",
    "--log-level",
    "warning",
    "--no-server-header",
]
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"
INSTALL_WRK = "wrk is not installed. Install it from Debian: `sudo apt-get install -y wrk` (then run `make bench` again)."
READY_SECONDS = 60


# --- processes ---------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")


class Processes:
    """Every server this run started; `stop_all` ends exactly those, by process group."""

    def __init__(self) -> None:
        self.servers: list[Server] = []

    def start(
        self,
        name: str,
        app: str,
        env: dict[str, str],
        folder: Path,
        app_dir: Path = PROJECT_ROOT,
        options: list[str] | None = None,
    ) -> Server:
        """`uvicorn app` on a spare port with UVICORN_OPTIONS (and `options`)."""
        port = free_port()
        log_path = folder / f"{name}.log"
        argv = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir)]
        argv += ["--port", str(port), *(options or []), *UVICORN_OPTIONS]
        server = Server(name, port, spawn(argv, env, log_path), log_path)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            if server.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(server.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for server in self.servers:
            try:
                server.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait(timeout=5)
        self.servers.clear()


def _get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited at start-up; its log:\n{server.log_path.read_text()[-3000:]}"
            )
        with contextlib.suppress(OSError):
            if _get(server.base + "/healthz", timeout=2)[0] == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.name} did not answer /healthz within {READY_SECONDS} s; its log:\n{server.log_path.read_text()[-3000:]}"
    )


def portal_env(
    database_url: str, var_dir: Path, cache_seconds: str | None = None, redis_url: str | None = None
) -> dict[str, str]:
    # Development mode: production mode insists on https and Redis, neither of which
    # changes how a public page is read, rendered or cached. Cache seconds: the
    # default unless asked (the uncached targets set 0).
    extra = {} if cache_seconds is None else {"PORTAL_PUBLIC_CACHE_SECONDS": cache_seconds}
    if redis_url:  # the page cache and sessions in Redis, as with several web processes
        extra["PORTAL_REDIS_URL"] = redis_url
    return server_env(
        {
            **extra,
            "PORTAL_ENV": "development",
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_VAR_DIR": str(var_dir),
            "PORTAL_EMBEDDED_WORKER": "0",
            "PORTAL_EMBEDDED_SCHEDULER": "0",
            "PORTAL_LOG_LEVEL": "WARNING",
            # As in production: PostgreSQL through the web process's pool (ignored by SQLite).
            "PORTAL_DATABASE_POOL": "10",
        }
    )


def redis_databases(url: str, count: int) -> list[str]:
    """One Redis database per portal target, counting up from the one in `url`: the
    page-cache keys are the same in every process, so targets must not share one."""
    parts = urlsplit(url)
    first = int(parts.path.strip("/") or 0)
    return [urlunsplit(parts._replace(path=f"/{first + i}")) for i in range(count)]


# --- seeding -----------------------------------------------------------------------------


def _quietly(coro) -> None:
    """Run a coroutine, hiding the migration runner's chatter unless it fails."""
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter):
            asyncio.run(coro)
    except BaseException:
        sys.stdout.write(chatter.getvalue())
        raise


def seed_database(database_url: str, var_dir: Path, now: datetime) -> None:
    from portal.settings import Settings

    _quietly(seed.seed(Settings(database_url=database_url, var_dir=var_dir), now))


# --- load --------------------------------------------------------------------------------


@dataclass
class Run:
    target: str
    page: str
    rps: float
    p50_ms: float
    p99_ms: float
    bytes_per_response: float
    errors: int
    server_cpu: float  # share of one core the server used during the run


@dataclass
class Result:
    target: str
    page: str
    runs: list[Run] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)

    @property
    def spread(self) -> float:
        """(max - min) / median of requests/s across rounds: how noisy this target was."""
        values = [run.rps for run in self.runs]
        return (max(values) - min(values)) / statistics.median(values) if values else 0.0


def wrk(server: Server, page: str, seconds: int, connections: int, threads: int) -> Run:
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={WRK_SCRIPT}",
        server.base + page,
    ]
    cpu_before, started = server.cpu_seconds(), time.monotonic()
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
        preexec_fn=die_with_parent,
    )
    cpu = (server.cpu_seconds() - cpu_before) / (time.monotonic() - started)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed on {server.name} {page}:\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH "))
    requests = max(data["requests"], 1)
    errors = data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
    return Run(
        target=server.name,
        page=page,
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        bytes_per_response=data["bytes"] / requests,
        errors=errors,
        server_cpu=cpu,
    )


# --- the run -----------------------------------------------------------------------------


def check_pages(servers: list[Server], pages: list[str]) -> list[str]:
    """Keep the pages every target serves with 200, and check the portal sends the ceiling's HTML."""
    kept = []
    for page in pages:
        answers = {s.name: _get(s.base + page) for s in servers}
        failing = {name: status for name, (status, _) in answers.items() if status != 200}
        if failing:
            log(f"  skipping {page}: not 200 on every target {failing}")
            continue
        kept.append(page)
        ceiling_lines = answers["ceiling"][1].decode().splitlines()
        for name, (_, body) in answers.items():
            lines = body.decode().splitlines()
            differing = sum(1 for a, b in zip(ceiling_lines, lines, strict=False) if a != b) + abs(
                len(lines) - len(ceiling_lines)
            )
            if differing:  # a time-remaining text can tick over between the two renders
                log(
                    f"  note: {name} {page}: {differing} of {len(ceiling_lines)} lines differ from the ceiling's HTML"
                )
        log(f"  {page}: {len(answers['ceiling'][1]):,} bytes of HTML, 200 on every target")
    return kept


def measure(servers: list[Server], pages: list[str], args: argparse.Namespace) -> list[Result]:
    results = {(s.name, p): Result(s.name, p) for s in servers for p in pages}
    if args.warmup > 0:
        log(f"Warm-up: {args.warmup:g} s per target and page")
        for page in pages:
            for server in servers:
                wrk(server, page, args.warmup, args.connections, args.threads)
    total = args.rounds * len(pages) * len(servers)
    log(
        f"Measuring: {args.rounds} rounds x {len(pages)} pages x {len(servers)} targets, {args.duration:g} s each "
        f"(about {total * args.duration / 60:.0f} min)"
    )
    for round_no in range(1, args.rounds + 1):
        for page in pages:
            for server in servers:  # interleaved, so all targets share the machine's moods
                run = wrk(server, page, args.duration, args.connections, args.threads)
                results[(server.name, page)].runs.append(run)
                log(
                    f"  round {round_no}/{args.rounds}  {server.name:<25} {page_label(page):<10} {run.rps:8.0f} req/s  "
                    f"p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms  server CPU {run.server_cpu:4.0%}"
                    + (f"  ERRORS {run.errors}" if run.errors else "")
                )
    return list(results.values())


def page_label(page: str) -> str:
    return "seat list" if page == "/" else "seat page"


def report(results: list[Result], pages: list[str], targets: list[str]) -> bool:
    ceiling = {r.page: r.median("rps") for r in results if r.target == "ceiling"}
    header = f"{'target':<25} {'page':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs ceiling':>10} {'spread':>7} {'srv CPU':>8} {'KB/resp':>8} {'errors':>7}"
    log("\n" + header)
    log("-" * len(header))
    met = True
    shortfalls = []
    for page in pages:
        label = page_label(page)
        for target in targets:
            r = next(x for x in results if x.target == target and x.page == page)
            ratio = r.median("rps") / ceiling[page]
            if target != "ceiling" and not target.endswith(UNCACHED) and (ratio < GOAL or r.errors):
                met = False
                shortfalls.append(
                    f"{target} on the {label} {ratio:.0%}"
                    + (f", {r.errors} errors" if r.errors else "")
                )
            log(
                f"{target:<25} {label:<10} {r.median('rps'):8.0f} {r.median('p50_ms'):8.1f} {r.median('p99_ms'):8.1f} "
                f"{ratio:10.0%} {r.spread:7.0%} {r.median('server_cpu'):8.0%} {r.median('bytes_per_response') / 1024:8.1f} {r.errors:7d}"
            )
    log("-" * len(header))
    log(
        "req/s, p50 and p99 are medians over the rounds; 'vs ceiling' compares medians from this run;"
    )
    log(
        "spread = (max - min) / median of req/s across rounds; srv CPU = share of one core the server used."
    )
    portal_targets = [t for t in targets if t != "ceiling" and not t.endswith(UNCACHED)]
    if any(t.endswith(UNCACHED) for t in targets):
        log(
            f"*{UNCACHED}: PORTAL_PUBLIC_CACHE_SECONDS=0, every request reads the database and renders; "
            "shown for information, not part of the goal."
        )
    verdict = "MET" if met else "NOT MET (" + "; ".join(shortfalls) + ")"
    log(f"Load average at the end (other work on the machine): {os.getloadavg()[0]:.1f}")
    log(
        f"\nGoal: every portal target at least {GOAL:.0%} of the ceiling on every page "
        f"({', '.join(portal_targets)}): {verdict}"
    )
    return met


def machine_line() -> str:
    from importlib.metadata import version

    wrk_version = subprocess.run(
        ["wrk", "--version"], capture_output=True, text=True, check=False
    ).stdout
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}, litestar {version('litestar')}, "
        f"piccolo {version('piccolo')}, uvicorn {version('uvicorn')}, {wrk_version.split(' [')[0].strip()}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=5, help="measured rounds per target and page (default 5)"
    )
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds per measured run (default 10)"
    )
    parser.add_argument(
        "--warmup", type=int, default=3, help="seconds of warm-up per target and page (default 3)"
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="concurrent connections (default 32)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1 if cores <= 2 else 2,
        help="wrk threads (default 1 on 2 cores, leaving the other core to the server)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument(
        "--uncached",
        action="store_true",
        help="also measure the portal with PORTAL_PUBLIC_CACHE_SECONDS=0 (information, not the goal)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_ADMIN_URL),
        help=f"a PostgreSQL server to create the scratch database {PG_BENCH_DATABASE!r} on "
        f"(env BENCH_POSTGRES_URL; default {DEFAULT_PG_ADMIN_URL})",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="keep the portal's page cache and sessions in Redis as production does, one database "
        "per portal target counting up from URL's (e.g. redis://127.0.0.1:6379/10); "
        "the benchmark never flushes them",
    )
    parser.add_argument("--json", type=Path, help="also write every run's figures to this file")
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when the goal is not met"
    )
    args = parser.parse_args(argv)
    # Bounded on purpose: a typo must not become an hour of load on a shared machine.
    if not (1 <= args.rounds <= 50 and 1 <= args.duration <= 120 and 0 <= args.warmup <= 60):
        parser.error(
            "keep --rounds within 1-50, --duration within 1-120 s and --warmup within 0-60 s"
        )
    if not (1 <= args.connections <= 1000 and 1 <= args.threads <= args.connections):
        parser.error("keep --connections within 1-1000 and --threads within 1 and --connections")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        log(INSTALL_WRK)
        return 2
    log(f"Page benchmark: {machine_line()}")
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    processes = Processes()
    scratch: list[str] = []  # the PostgreSQL database, once created

    def clean_up() -> None:
        processes.stop_all()
        seed.drop_postgres_databases(args.postgres_url, scratch)
        shutil.rmtree(folder, ignore_errors=True)

    return run_cleanly(
        lambda: run(args, folder, processes, scratch), clean_up, stopping="the servers"
    )


def run(args: argparse.Namespace, folder: Path, processes: Processes, scratch: list[str]) -> int:
    """Seed, start the servers, measure and report; `scratch` gets the PostgreSQL
    database's name before it is created (main drops it)."""
    log(f"Seeding SQLite in {folder}")
    sqlite_url = seed.sqlite_url(folder)
    seeded_at = datetime.now(UTC).replace(
        second=0, microsecond=0
    )  # the same data in every database
    seed_database(sqlite_url, folder / "var-sqlite", seeded_at)
    pg_url = None
    if use_postgres(args.no_postgres, args.postgres_url):
        log(f"Seeding PostgreSQL database {PG_BENCH_DATABASE!r}")
        scratch.append(PG_BENCH_DATABASE)
        asyncio.run(seed.recreate_postgres_database(args.postgres_url, PG_BENCH_DATABASE))
        pg_url = seed.with_database(args.postgres_url, PG_BENCH_DATABASE)
        seed_database(pg_url, folder / "var-postgres", seeded_at)

    log("Starting servers (uvicorn, one process each, no access log)")
    servers = [
        processes.start(
            "ceiling",
            "ceiling_app:app",
            server_env(
                {
                    "BENCH_DATABASE_URL": sqlite_url,
                    "BENCH_VAR_DIR": str(folder / "var-ceiling"),
                }
            ),
            folder,
            BENCH_DIR,
        )
    ]
    databases = [("sqlite", sqlite_url)] + ([("postgres", pg_url)] if pg_url else [])
    portals = [(f"portal-{label}", url, None) for label, url in databases]
    if args.uncached:  # the same portal with the page cache off: every request reads and renders
        portals += [(f"portal-{label}{UNCACHED}", url, "0") for label, url in databases]
    redis_urls = redis_databases(args.redis, len(portals)) if args.redis else [None] * len(portals)
    for (name, url, cache_seconds), redis_url in zip(portals, redis_urls, strict=True):
        env = portal_env(
            url, folder / f"var-{name}", cache_seconds=cache_seconds, redis_url=redis_url
        )
        servers.append(processes.start(name, "portal.asgi:app", env, folder, PROJECT_ROOT))
    if args.redis:
        log(
            f"  page cache and sessions in Redis: {', '.join(u for u in redis_urls if u)} (one database per target)"
        )
    for server in servers:
        wait_ready(server)

    pages = check_pages(servers, ["/", f"/seats/{seed.DEMO_SLUG}"])
    if not pages:
        log("No page answered 200 on every target; nothing to measure.")
        return 1
    results = measure(servers, pages, args)
    targets = [s.name for s in servers]
    met = report(results, pages, targets)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine_line(),
                    "runs": [run.__dict__ for r in results for run in r.runs],
                },
                indent=1,
            )
        )
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
