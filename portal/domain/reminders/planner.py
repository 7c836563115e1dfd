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

This module plans; the schedule's rules and the admin's changes are in
`reminder_schedule`, the opt-out in `reminder_optout`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.columns.combination import WhereRaw

from portal.domain.outbox.messages import Mail, enqueue_mails
from portal.domain.panels.access import PANEL_STATUSES, conflicted_application_ids
from portal.domain.reminders.schedule import (
    CLOSED_NOTICE_WINDOW,
    ReminderKind,
    closed_notice_due,
    due_offset,
    parse_hours,
)
from portal.domain.rounds.deadline import effective_deadline, grace_end
from portal.domain.rounds.times import MAX_GRACE_MINUTES, RoundStage
from portal.domain.timerules import DEFAULT_ZONE, ensure_aware_utc
from portal.tables import (
    Application,
    DeadlineExtension,
    PanelMember,
    Reminder,
    Round,
    ScoreSheet,
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


@dataclass
class _Group:
    """One batch of work: one kind and offset, in one round, against one deadline."""

    kind: ReminderKind
    round: dict[str, Any]
    offset_minutes: int
    deadline: datetime
    due_at: datetime
    expires_at: datetime | None
    # Draft groups: the applicants to include (extended ones) or to leave out (the rest).
    only: list[int] | None = None
    excluding: list[int] | None = None
    # Scoring groups: candidates worked out in Python (a panel is small).
    prepared: list[dict[str, Any]] | None = None


async def plan_due_reminders(
    now: datetime, compose: Callable[[ReminderNotice], Mail], *, limit: int = 500
) -> list[int]:
    """Create at most `limit` reminders that are due at `now`, and their outbox mails, in
    the caller's transaction. Returns the outbox ids to dispatch after commit; calling it
    again makes progress until it returns []."""
    now = ensure_aware_utc(now)
    left = max(int(limit), 0)
    ids: list[int] = []
    for find_groups in (_draft_groups, _scoring_groups):
        if left <= 0:
            break
        for group in await find_groups(now):
            if left <= 0:
                break
            made, group_ids = await _plan_group(group, now, compose, left)
            left -= made
            ids.extend(group_ids)
    return ids


async def _extended_deadlines(round_ids: list[int]) -> dict[int, dict[int, datetime]]:
    """round -> applicant -> their own latest extension."""
    found: dict[int, dict[int, datetime]] = defaultdict(dict)
    if not round_ids:
        return found
    rows = await DeadlineExtension.select(
        DeadlineExtension.round, DeadlineExtension.applicant, DeadlineExtension.closes_at
    ).where(DeadlineExtension.round.is_in(round_ids) & DeadlineExtension.applicant.is_not_null())
    for r in rows:
        own = found[r["round"]]
        closes_at = ensure_aware_utc(r["closes_at"])
        if r["applicant"] not in own or closes_at > own[r["applicant"]]:
            own[r["applicant"]] = closes_at
    return found


def _deadline_groups(
    round_row: dict[str, Any], deadline: datetime, now: datetime, **people: Any
) -> list[_Group]:
    """The draft groups due against one deadline: a due reminder, or the closed notice."""
    groups: list[_Group] = []
    hours = due_offset(deadline, now, parse_hours(round_row["reminder_hours"]))
    if hours is not None:
        groups.append(
            _Group(
                ReminderKind.draft_due,
                round_row,
                hours * 60,
                deadline,
                deadline - timedelta(hours=hours),
                deadline,
                **people,
            )
        )
    grace = round_row["grace_minutes"] or 0
    if round_row["closed_notice"] and closed_notice_due(deadline, grace, now):
        ends = grace_end(deadline, grace)
        groups.append(
            _Group(
                ReminderKind.draft_closed,
                round_row,
                0,
                deadline,
                ends,
                ends + CLOSED_NOTICE_WINDOW,
                **people,
            )
        )
    return groups


async def _draft_groups(now: datetime) -> list[_Group]:
    # Rounds with someone's deadline still ahead, or passed within the closed-notice window.
    since = now - CLOSED_NOTICE_WINDOW - timedelta(minutes=MAX_GRACE_MINUTES)
    extended_rounds = DeadlineExtension.select(DeadlineExtension.round).where(
        DeadlineExtension.applicant.is_not_null() & (DeadlineExtension.closes_at > since)
    )
    rounds = (
        await Round.select(
            Round.id,
            Round.closes_at,
            Round.grace_minutes,
            Round.timezone,
            Round.reminder_hours,
            Round.closed_notice,
            Round.seat.title.as_alias("seat_title"),
        )
        .where(
            (Round.stage == RoundStage.collecting.value)
            & ((Round.closes_at > since) | Round.id.is_in(extended_rounds))
        )
        .order_by(Round.id)
    )
    extensions = await _extended_deadlines([r["id"] for r in rounds])
    groups: list[_Group] = []
    for round_row in rounds:
        closes_at = ensure_aware_utc(round_row["closes_at"])
        own = {
            applicant: effective_deadline(closes_at, at)
            for applicant, at in extensions.get(round_row["id"], {}).items()
        }
        own = {applicant: at for applicant, at in own.items() if at > closes_at}
        groups += _deadline_groups(round_row, closes_at, now, excluding=sorted(own) or None)
        by_deadline: dict[datetime, list[int]] = defaultdict(list)
        for applicant, at in own.items():
            by_deadline[at].append(applicant)
        for at, applicants in sorted(by_deadline.items()):
            groups += _deadline_groups(round_row, at, now, only=sorted(applicants))
    return groups


async def _scoring_groups(now: datetime) -> list[_Group]:
    rounds = (
        await Round.select(
            Round.id,
            Round.scoring_deadline,
            Round.timezone,
            Round.panel_reminder_hours,
            Round.seat.title.as_alias("seat_title"),
        )
        .where(
            (Round.stage == RoundStage.scoring.value)
            & Round.scoring_deadline.is_not_null()
            & (Round.scoring_deadline > now)
        )
        .order_by(Round.id)
    )
    groups: list[_Group] = []
    for round_row in rounds:
        deadline = ensure_aware_utc(round_row["scoring_deadline"])
        hours = due_offset(deadline, now, parse_hours(round_row["panel_reminder_hours"]))
        if hours is None:
            continue
        group = _Group(
            ReminderKind.scoring_due,
            round_row,
            hours * 60,
            deadline,
            deadline - timedelta(hours=hours),
            deadline,
        )
        group.prepared = await _unscored_members(group)
        if group.prepared:
            groups.append(group)
    return groups


def _same_key(group: _Group) -> Any:
    return (
        (Reminder.kind == group.kind.value)
        & (Reminder.round == group.round["id"])
        & (Reminder.offset_minutes == group.offset_minutes)
    )


def _not_reminded(column: Any, group: _Group) -> Any:
    """recipient NOT IN (those already reminded for this kind, round and offset, against
    this deadline or a later one). A reminder sent before an extension moved the
    deadline later does not count: it is re-armed for the new deadline."""
    return column.not_in(
        Reminder.select(Reminder.recipient).where(
            _same_key(group) & (Reminder.due_at >= group.due_at)
        )
    )


async def _unscored_members(group: _Group) -> list[dict[str, Any]]:
    """Live members not yet reminded at this offset, with how many applications they
    have left: those in the panel's view, less conflicts, less submitted score sheets."""
    round_id = group.round["id"]
    members = await PanelMember.select(
        PanelMember.id,
        PanelMember.round,
        PanelMember.user.as_alias("recipient"),
        PanelMember.user.email.as_alias("email"),
        PanelMember.user.name.as_alias("name"),
    ).where(
        (PanelMember.round == round_id)
        & PanelMember.accepted_at.is_not_null()
        & PanelMember.removed_at.is_null()
        & (PanelMember.user.is_active == True)  # noqa: E712
        & _not_reminded(PanelMember.user, group)
    )
    if not members:
        return []
    applications = {
        r["id"]
        for r in await Application.select(Application.id).where(
            (Application.round == round_id) & Application.status.is_in(list(PANEL_STATUSES))
        )
    }
    scored: dict[int, set[int]] = defaultdict(set)
    for r in await ScoreSheet.select(ScoreSheet.member, ScoreSheet.application).where(
        (ScoreSheet.member.round == round_id) & ScoreSheet.submitted_at.is_not_null()
    ):
        scored[r["member"]].add(r["application"])
    found = []
    for member in members:
        left = applications - scored[member["id"]] - await conflicted_application_ids(member)
        if left:
            found.append({**member, "application_id": None, "unscored": len(left)})
    return found


async def _candidates(group: _Group, n: int) -> list[dict[str, Any]]:
    if group.prepared is not None:
        batch, group.prepared = group.prepared[:n], group.prepared[n:]
        return batch
    condition = (
        (Application.round == group.round["id"])
        & (Application.status == "draft")
        & Application.applicant.reminders_opt_out_at.is_null()
        & (Application.applicant.is_active == True)  # noqa: E712
        & _not_reminded(Application.applicant, group)
    )
    if group.only is not None:
        condition &= Application.applicant.is_in(group.only)
    if group.excluding:
        condition &= Application.applicant.not_in(group.excluding)
    return (
        await Application.select(
            Application.id.as_alias("application_id"),
            Application.applicant.as_alias("recipient"),
            Application.applicant.email.as_alias("email"),
            Application.applicant.name.as_alias("name"),
        )
        .where(condition)
        .order_by(Application.id)
        .limit(n)
    )


async def _plan_group(
    group: _Group, now: datetime, compose: Callable[[ReminderNotice], Mail], left: int
) -> tuple[int, list[int]]:
    """Batches of candidates -> reminder rows (DO NOTHING on the unique key) -> mails for
    the rows actually inserted. Returns (reminders made, outbox ids)."""
    made, ids = 0, []
    for _ in range(10_000):  # a bound, never reached: each pass inserts or runs out
        if made >= left:
            break
        want = min(left - made, _BATCH)
        rows = await _candidates(group, want)
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
    group: _Group, row: dict[str, Any], now: datetime, *, rearmed: bool = False
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


async def _reminded_for_earlier_deadline(group: _Group, recipients: list[int]) -> set[int]:
    """Of these candidates, those whose reminder at this offset was for an earlier deadline."""
    rows = await Reminder.select(Reminder.recipient).where(
        _same_key(group) & Reminder.recipient.is_in(recipients)
    )
    return {r["recipient"] for r in rows}


async def _insert_reminders(
    group: _Group, recipients: Iterable[int], now: datetime
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
