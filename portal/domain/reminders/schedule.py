"""A round's reminder schedule: which offset is due when, and the admin's changes to it.

Pure rules take `now` as a parameter, so every boundary is tested without a clock. The
schedule is whole hours before a deadline ("168,48,3"); of the offsets that have fallen
due, only the most recent counts, so a scheduler that was down never causes a burst.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count

from portal.domain.audit import Actor, record_event
from portal.domain.errors import ValidationErrors
from portal.domain.outbox.messages import OutboxState
from portal.domain.rounds.deadline import grace_end
from portal.domain.rounds.phase import get_round
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Reminder, Round


class ReminderKind(enum.StrEnum):
    draft_due = "draft_due"
    draft_closed = "draft_closed"
    scoring_due = "scoring_due"


DRAFT_KINDS = frozenset({ReminderKind.draft_due, ReminderKind.draft_closed})
# A closed notice more than this long after someone's deadline would be news from nowhere.
CLOSED_NOTICE_WINDOW = timedelta(days=7)
MAX_OFFSETS = 8
MAX_OFFSET_HOURS = 8760  # a year
_MAX_SCHEDULE_TEXT = 100  # the column's length


# ---- The schedule: pure rules ----------------------------------------------------------


def parse_hours(text: str | None) -> tuple[int, ...]:
    """A stored schedule ("168,48,3") as distinct hours, largest first. Lenient: a part
    that is not a whole number of hours in range (a row edited by hand) is skipped, so
    one bad part never stops the other reminders."""
    hours: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if re.fullmatch(r"[0-9]{1,5}", part) and 0 < int(part) <= MAX_OFFSET_HOURS:
            hours.add(int(part))
    return tuple(sorted(hours, reverse=True))[:MAX_OFFSETS]


def validate_hours(text: str, field: str) -> str:
    """An admin's schedule, checked: whole hours from 1 to 8760, at most 8, comma-separated.

    Returns the normalised text ("168,48,3"); empty means "send none". Raises a DomainError
    naming `field` with a message that says what to type instead.
    """
    text = (text or "").strip()
    if not text:
        return ""
    if len(text) > _MAX_SCHEDULE_TEXT:
        raise ValidationErrors(
            {field: f"Enter at most {MAX_OFFSETS} numbers of hours, such as 168,48,3."}
        )
    parts = [p.strip() for p in text.split(",")]
    hours: set[int] = set()
    for part in parts:
        if not re.fullmatch(r"[0-9]{1,5}", part):
            shown = part if len(part) <= 20 else part[:20] + "…"
            raise ValidationErrors(
                {
                    field: f"“{shown}” is not a whole number of hours. "
                    "Enter whole hours separated by commas, such as 168,48,3."
                }
            )
        value = int(part)
        if not 0 < value <= MAX_OFFSET_HOURS:
            raise ValidationErrors(
                {field: f"Each number of hours must be from 1 to {MAX_OFFSET_HOURS} (a year)."}
            )
        hours.add(value)
    if len(hours) > MAX_OFFSETS:
        raise ValidationErrors({field: f"Enter at most {MAX_OFFSETS} numbers of hours."})
    return ",".join(str(h) for h in sorted(hours, reverse=True))


def due_offset(deadline: datetime, now: datetime, hours: Sequence[int]) -> int | None:
    """The one offset (in hours) a reminder is due for now, or None.

    An offset is due from `deadline - offset` until the deadline. Of those due, only the
    most recent (the smallest) counts: after the scheduler was down from 8 days to 2
    hours before, the 3-hour reminder goes and the week and two-day ones never do.
    """
    deadline, now = ensure_aware_utc(deadline), ensure_aware_utc(now)
    if now >= deadline:
        return None
    due = [h for h in hours if h > 0 and deadline - timedelta(hours=h) <= now]
    return min(due) if due else None


def closed_notice_due(deadline: datetime, grace_minutes: int, now: datetime) -> bool:
    """From the end of the grace period for a week; never for an older deadline."""
    ends = grace_end(deadline, grace_minutes)
    return ends <= ensure_aware_utc(now) < ends + CLOSED_NOTICE_WINDOW


def describe_offset(kind: str, offset_minutes: int) -> str:
    """ "48 hours before the deadline", "after the deadline" (admin round page)."""
    if kind == ReminderKind.draft_closed:
        return "after the deadline"
    hours, minutes = divmod(offset_minutes, 60)
    amount = (
        f"{hours} hour{'' if hours == 1 else 's'}" if not minutes else f"{offset_minutes} minutes"
    )
    target = "scoring deadline" if kind == ReminderKind.scoring_due else "deadline"
    return f"{amount} before the {target}"


# ---- The round's schedule (admin) --------------------------------------------------------


@dataclass(frozen=True)
class ScheduleInput:
    reminder_hours: str = ""
    closed_notice: bool = False
    panel_reminder_hours: str = ""


async def update_reminder_schedule(
    round_id: int, change: ScheduleInput, actor: Actor, now: datetime
) -> None:
    """An admin changes when a round's reminders go; every problem is reported at once."""
    row = await get_round(round_id)
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for field in ("reminder_hours", "panel_reminder_hours"):
        try:
            values[field] = validate_hours(getattr(change, field), field)
        except ValidationErrors as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationErrors(errors)
    after = {**values, "closed_notice": bool(change.closed_notice)}
    before = {key: row[key] for key in after}
    if after == before:
        return
    await Round.update(
        {
            Round.reminder_hours: after["reminder_hours"],
            Round.panel_reminder_hours: after["panel_reminder_hours"],
            Round.closed_notice: after["closed_notice"],
        }
    ).where(Round.id == round_id)
    await record_event(
        actor,
        "round.reminders_changed",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={"from": before, "to": after},
    )


async def reminder_counts(round_id: int) -> list[dict[str, Any]]:
    """Per kind and offset: how many reminders were created and how many have been sent."""
    rows = (
        await Reminder.select(
            Reminder.kind,
            Reminder.offset_minutes,
            Reminder.outbox.status.as_alias("status"),
            Count(Reminder.id, alias="n"),
        )
        .where(Reminder.round == round_id)
        .group_by(Reminder.kind, Reminder.offset_minutes, Reminder.outbox.status)
    )
    totals: dict[tuple[str, int], dict[str, Any]] = {}
    for r in rows:
        entry = totals.setdefault(
            (r["kind"], r["offset_minutes"]),
            {
                "kind": r["kind"],
                "offset_minutes": r["offset_minutes"],
                "when": describe_offset(r["kind"], r["offset_minutes"]),
                "created": 0,
                "sent": 0,
            },
        )
        entry["created"] += r["n"]
        if r["status"] == OutboxState.sent.value:
            entry["sent"] += r["n"]
    order = list(ReminderKind)
    return sorted(
        totals.values(),
        key=lambda e: (order.index(e["kind"]) if e["kind"] in order else 9, -e["offset_minutes"]),
    )
