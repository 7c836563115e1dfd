"""A `dramatiq` worker process starts from the environment alone, as in production."""

import os
import subprocess
import sys

from portal.settings import PROJECT_ROOT

PROBE = """
import asyncio
import workers.actors  # what `dramatiq workers.actors` imports first
from portal.tables import OutboxMessage
print("rows", asyncio.run(OutboxMessage.count().run()))
"""


def test_worker_process_finds_the_database_from_the_environment(settings):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PICCOLO_CONF",) and not k.startswith("PORTAL_")
    }
    env["PORTAL_DATABASE_URL"] = settings.database_url
    env["PORTAL_VAR_DIR"] = str(settings.var_dir)
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rows 0" in done.stdout
