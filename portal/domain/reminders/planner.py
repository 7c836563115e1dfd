"""Reminders: rows in the database, due at offsets before a deadline (never delayed broker messages).

Three kinds:
- `draft_due`: to an applicant whose application is still a draft, at each of the round's
  `reminder_hours` before THEIR effective deadline (an extension of their own counts).
- `draft_closed`: once their deadline plus the grace has passed and it is still a draft
  (if the round sends the notice), only within a week of that, so an old round never
  produces a burst.
- `scoring_due`: to a panel member with applications left to score, at each of the
  round's `panel_reminder_hours` before the scoring deadline.

A reminder row is unique on (kind, round, recipient, offset_minutes) by a raw index, and is
written with ON CONFLICT; a mail is written only for rows this call wrote (RETURNING), so
two schedulers, a retried tick or concurrent workers never send one twice. The conflict
updates a row only if it was for an earlier deadline (an extension came after it), which
re-arms that reminder for the new deadline. When the scheduler was down, only the most
recent offset that fell due is created: nobody gets a burst of stale reminders.
Candidates are chosen in SQL, a batch at a time.

This module plans; who is due is in `candidates`, the schedule's rules and the admin's
changes in `schedule`, the opt-out in `optout`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.columns.combination import WhereRaw

from portal.domain.outbox.messages import Mail, enqueue_mails
from portal.domain.reminders.candidates import (
    ReminderGroup,
    candidates,
    draft_groups,
    same_reminder,
    scoring_groups,
)
from portal.domain.timerules import DEFAULT_ZONE, ensure_aware_utc
from portal.tables import (
    Reminder,
)

# Rows per INSERT: both engines cap the parameters of one statement (SQLite at 32766).
_BATCH = 500


@dataclass(frozen=True)
class ReminderNotice:
    """What one reminder mail needs. The opt-out token is made from `recipient_id` by the
    mail builder (it holds the secret); `now` is when it was planned, for "N hours left"."""

    kind: str
    round_id: int
    recipient_id: int
    email: str
    name: str
    seat_title: str
    deadline: datetime  # the recipient's effective deadline, or the scoring deadline
    zone_name: str
    offset_minutes: int
    due_at: datetime
    now: datetime
    application_id: int | None = None
    unscored: int = 0  # scoring_due: applications this member has left to score
    # The same reminder again, for a later deadline (an extension came after it was sent).
    rearmed: bool = False

    @property
    def dedupe_key(self) -> str:
        key = reminder_key(self.kind, self.round_id, self.recipient_id, self.offset_minutes)
        # The first mail's key is taken: the re-armed one names the moment it fell due.
        return f"{key}:{int(self.due_at.timestamp())}" if self.rearmed else key


def reminder_key(kind: str, round_id: int, recipient_id: int, offset_minutes: int) -> str:
    return f"reminder:{kind}:{round_id}:{recipient_id}:{offset_minutes}"


async def plan_due_reminders(
    now: datetime, compose: Callable[[ReminderNotice], Mail], *, limit: int = 500
) -> list[int]:
    """Create at most `limit` reminders that are due at `now`, and their outbox mails, in
    the caller's transaction. Returns the outbox ids to dispatch after commit; calling it
    again makes progress until it returns []."""
    now = ensure_aware_utc(now)
    left = max(int(limit), 0)
    ids: list[int] = []
    for find_groups in (draft_groups, scoring_groups):
        if left <= 0:
            break
        for group in await find_groups(now):
            if left <= 0:
                break
            made, group_ids = await _plan_group(group, now, compose, left)
            left -= made
            ids.extend(group_ids)
    return ids


async def _plan_group(
    group: ReminderGroup, now: datetime, compose: Callable[[ReminderNotice], Mail], left: int
) -> tuple[int, list[int]]:
    """Batches of candidates -> reminder rows (DO NOTHING on the unique key) -> mails for
    the rows actually inserted. Returns (reminders made, outbox ids)."""
    made, ids = 0, []
    for _ in range(10_000):  # a bound, never reached: each pass inserts or runs out
        if made >= left:
            break
        want = min(left - made, _BATCH)
        rows = await candidates(group, want)
        if not rows:
            break
        recipients = [r["recipient"] for r in rows]
        earlier = await _reminded_for_earlier_deadline(group, recipients)
        inserted = await _insert_reminders(group, recipients, now)
        made += len(inserted)
        notices = [
            _notice(group, row, now, rearmed=row["recipient"] in earlier)
            for row in rows
            if row["recipient"] in inserted
        ]
        ids += await _write_mails(
            [compose(n) for n in notices],
            {n.dedupe_key: inserted[n.recipient_id] for n in notices},
            now,
        )
        if len(rows) < want:
            break  # that was every candidate
    return made, ids


def _notice(
    group: ReminderGroup, row: dict[str, Any], now: datetime, *, rearmed: bool = False
) -> ReminderNotice:
    return ReminderNotice(
        kind=group.kind.value,
        round_id=group.round["id"],
        recipient_id=row["recipient"],
        email=row["email"],
        name=row["name"],
        seat_title=group.round["seat_title"] or "",
        deadline=group.deadline,
        zone_name=group.round["timezone"] or DEFAULT_ZONE,
        offset_minutes=group.offset_minutes,
        due_at=group.due_at,
        now=now,
        application_id=row.get("application_id"),
        unscored=row.get("unscored", 0),
        rearmed=rearmed,
    )


async def _reminded_for_earlier_deadline(group: ReminderGroup, recipients: list[int]) -> set[int]:
    """Of these candidates, those whose reminder at this offset was for an earlier deadline."""
    rows = await Reminder.select(Reminder.recipient).where(
        same_reminder(group) & Reminder.recipient.is_in(recipients)
    )
    return {r["recipient"] for r in rows}


async def _insert_reminders(
    group: ReminderGroup, recipients: Iterable[int], now: datetime
) -> dict[int, int]:
    """recipient -> reminder id, for the rows this call wrote: new ones, and ones re-armed
    because they were for an earlier deadline. One that exists for this deadline (another
    planner's, committed or in flight) is left alone and not returned."""
    rows = (
        await Reminder.insert(
            *[
                Reminder(
                    kind=group.kind.value,
                    round=group.round["id"],
                    recipient=recipient,
                    offset_minutes=group.offset_minutes,
                    due_at=group.due_at,
                    created_at=now,
                )
                for recipient in recipients
            ]
        )
        .on_conflict(
            target=(Reminder.kind, Reminder.round, Reminder.recipient, Reminder.offset_minutes),
            action="DO UPDATE",
            values=[Reminder.due_at, Reminder.created_at, (Reminder.outbox, None)],
            where=WhereRaw("reminder.due_at < EXCLUDED.due_at"),
        )
        .returning(Reminder.id, Reminder.recipient)
    )
    return {r["recipient"]: r["id"] for r in rows}


async def _write_mails(mails: list[Mail], reminders: dict[str, int], now: datetime) -> list[int]:
    """The outbox rows for a batch in one INSERT (a dedupe key already used writes nothing),
    then each reminder (by the dedupe key of its mail) linked to its mail in one UPDATE."""
    if not mails:
        return []
    written = await enqueue_mails(mails, now)
    links = [
        (reminders[key], message_id) for key, message_id in written.items() if key in reminders
    ]
    if links:
        cases = " ".join("WHEN {} THEN CAST({} AS INTEGER)" for _ in links)
        placeholders = ", ".join("{}" for _ in links)
        await Reminder.raw(
            f"UPDATE reminder SET outbox = CASE id {cases} END WHERE id IN ({placeholders})",
            *[value for link in links for value in link],
            *[reminder_id for reminder_id, _ in links],
        )
    return sorted(written.values())
