"""The scheduler: exactly one per deployment. It only enqueues actors.

Embedded mode: a thread inside the web process. Production: `portal scheduler`.
UTC, coalesced, one instance of each job at a time, so a slow tick is skipped
rather than piled up.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from portal.settings import Settings
from workers.mail import sweep_outbox
from workers.reminders import plan_reminders

log = logging.getLogger("portal.scheduler")


def _enqueue_sweep() -> None:
    try:
        sweep_outbox.send()
    except Exception:  # noqa: BLE001 - broker down: the next tick tries again
        log.warning("could not enqueue the outbox sweep", exc_info=True)


def _enqueue_reminders() -> None:
    try:
        plan_reminders.send()
    except Exception:  # noqa: BLE001 - broker down: the next tick tries again
        log.warning("could not enqueue the reminder planner", exc_info=True)


def build_scheduler(settings: Settings, *, background: bool = True):
    cls = BackgroundScheduler if background else BlockingScheduler
    scheduler = cls(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )
    scheduler.add_job(_enqueue_sweep, "interval", seconds=settings.sweep_seconds, id="outbox-sweep")
    scheduler.add_job(
        _enqueue_reminders, "interval", seconds=settings.reminder_seconds, id="reminder-plan"
    )
    return scheduler
