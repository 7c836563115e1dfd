"""The web and worker processes are stopped (SIGTERM, as a deploy does) during a burst
of submissions: every submission the portal accepted is kept and receipted.

Sessions live in files under the web process's var/ (no PORTAL_REDIS_URL), so the
applicants are still signed in when the web process comes back on the same port; the
test's own redis-server is the broker only and keeps running.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.conftest import (
    all_receipts_sent_once,
    bounded,
    note,
    ready_to_submit,
    submitted_application_ids,
)

pytestmark = pytest.mark.faults

APPLICANTS = 60
STOP_AFTER = 15  # responses seen before the SIGTERMs


def test_sigterm_to_web_and_worker_mid_burst_loses_no_accepted_submission(stack, loop, request):
    with ready_to_submit(stack, loop, APPLICANTS) as ready:
        web, worker, browsers = ready.web, ready.worker, ready.browsers
        outcome: dict[int, object] = {}

        async def burst() -> None:
            semaphore = asyncio.Semaphore(20)
            stopped = False

            async def one(browser) -> None:
                nonlocal stopped
                async with semaphore:
                    try:
                        outcome[browser.applicant.application_id] = await browser.submit()
                    except Exception as exc:  # noqa: BLE001 - a refused connection is an outcome
                        outcome[browser.applicant.application_id] = exc
                if len(outcome) >= STOP_AFTER and not stopped:
                    stopped = True
                    web.terminate()
                    worker.terminate()

            await asyncio.gather(*(one(b) for b in browsers))

        t0 = time.monotonic()
        loop.run_until_complete(burst())
        note(request, "burst_seconds", round(time.monotonic() - t0, 2))
        web.popen.wait(timeout=30)
        note(request, "web_stopped_after", round(time.monotonic() - t0, 2))
        worker.popen.wait(timeout=30)
        note(request, "worker_stopped_after", round(time.monotonic() - t0, 2))
        accepted = {a for a, result in outcome.items() if result is True}
        in_database = submitted_application_ids(ready.round_id)
        note(request, "accepted_before_restart", len(accepted))
        note(request, "not_answered", sum(result is not True for result in outcome.values()))
        note(request, "in_database_without_success", len(in_database - accepted))
        assert accepted, "the SIGTERM came before any submission was accepted"
        assert accepted <= in_database, f"accepted but lost: {sorted(accepted - in_database)}"

        # Back up: the web process on the same port, a new worker. Those who saw an
        # error submit again, as a person would.
        port = int(web.url.rsplit(":", 1)[1])
        stack.wait_ready(
            stack.web("web-again", port=port, wait=False),
            stack.worker("worker-again", wait=False),
        )
        retry = [b for b in browsers if outcome[b.applicant.application_id] is not True]
        again = loop.run_until_complete(bounded((b.submit for b in retry), 10))
        assert all(r is True for r in again), f"a resubmission after the restart failed: {again}"

        everyone = {a.application_id for a in ready.applicants}
        assert submitted_application_ids(ready.round_id) == everyone
        all_receipts_sent_once(stack, request, everyone, "receipts_after_restart_seconds")
