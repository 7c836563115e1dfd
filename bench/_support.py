"""What every benchmark script needs: its own processes in their own groups, a clean
environment for them, the PostgreSQL probe, a spare Redis emptied, and a run that
always cleans up (Ctrl+C, SIGTERM, an error).

Imported by bench/pages.py, deadline_spike.py and reminder_fanout.py (with bench/ on
sys.path, as each script sets it); importing it puts the project root on sys.path too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
for _path in (str(BENCH_DIR), str(PROJECT_ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

HOST = "127.0.0.1"  # load never leaves this machine
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def log(message: str) -> None:
    print(message, flush=True)


# --- processes ---------------------------------------------------------------------------


def die_with_parent() -> None:
    """In the child: get SIGTERM if the benchmark itself dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def spawn(argv: list[str], env: dict[str, str] | None, log_path: Path) -> subprocess.Popen:
    """Start `argv` from the project root in its own process group (Ctrl+C reaches only
    the benchmark, which stops its processes in order; a group kill ends their children),
    its output in `log_path`."""
    with log_path.open("wb") as out:
        return subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without any PORTAL_* of the caller's, plus the run's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    return {**env, **extra}


# --- PostgreSQL and Redis ----------------------------------------------------------------


def postgres_available(admin_url: str) -> str | None:
    """None when the server answers, otherwise why not."""

    async def probe() -> None:
        import asyncpg

        conn = await asyncpg.connect(admin_url, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return f"{type(exc).__name__}: {exc}"
    return None


def use_postgres(skip: bool, admin_url: str) -> bool:
    """Whether to measure PostgreSQL as well; when not, says why."""
    if skip:
        log("PostgreSQL: skipped (--no-postgres)")
        return False
    if (why := postgres_available(admin_url)) is not None:
        log(
            f"PostgreSQL: SKIPPED, cannot reach {admin_url} ({why}). "
            "Start PostgreSQL or set BENCH_POSTGRES_URL to measure it too."
        )
        return False
    return True


def flush_redis(url: str) -> None:
    """Empty the Redis database of `url` (a spare one the benchmark was given)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


# --- a run that always cleans up ---------------------------------------------------------


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM/SIGHUP behave like Ctrl+C, so the clean-up below always runs."""

    def interrupt(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_cleanly(body: Callable[[], int], clean_up: Callable[[], None], stopping: str) -> int:
    """`body()`'s exit status; 130 on Ctrl+C (or SIGTERM/SIGHUP), 1 when a process would
    not start or a wait ran out. `clean_up()` runs in every case; `stopping` says what
    an interrupt stops ("the servers")."""
    try:
        with stop_on_signals():
            return body()
    except KeyboardInterrupt:
        log(f"\nInterrupted: stopping {stopping}.")
        return 130
    except (RuntimeError, TimeoutError) as exc:
        log(f"\nBenchmark stopped: {exc}")
        return 1
    finally:
        clean_up()
