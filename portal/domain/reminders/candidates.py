"""Who is due a reminder now: groups of work (one kind and offset, in one round, against
one deadline) and the people in each who have not been reminded yet, chosen in SQL a
batch at a time.

A reminder sent before an extension moved a deadline later does not count for the
new deadline: it is re-armed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.domain.panels.access import PANEL_STATUSES, conflicted_application_ids
from portal.domain.reminders.schedule import (
    CLOSED_NOTICE_WINDOW,
    ReminderKind,
    closed_notice_due,
    due_offset,
    parse_hours,
)
from portal.domain.rounds.deadline import effective_deadline, grace_end
from portal.domain.rounds.phase import MAX_GRACE_MINUTES, RoundStage
from portal.domain.statuses import ApplicationStatus
from portal.domain.timerules import ensure_aware_utc
from portal.tables import (
    Application,
    DeadlineExtension,
    PanelMember,
    Reminder,
    Round,
    ScoreSheet,
)


@dataclass
class ReminderGroup:
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
) -> list[ReminderGroup]:
    """The draft groups due against one deadline: a due reminder, or the closed notice."""
    groups: list[ReminderGroup] = []
    hours = due_offset(deadline, now, parse_hours(round_row["reminder_hours"]))
    if hours is not None:
        groups.append(
            ReminderGroup(
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
            ReminderGroup(
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


async def draft_groups(now: datetime) -> list[ReminderGroup]:
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
    groups: list[ReminderGroup] = []
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


async def scoring_groups(now: datetime) -> list[ReminderGroup]:
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
    groups: list[ReminderGroup] = []
    for round_row in rounds:
        deadline = ensure_aware_utc(round_row["scoring_deadline"])
        hours = due_offset(deadline, now, parse_hours(round_row["panel_reminder_hours"]))
        if hours is None:
            continue
        group = ReminderGroup(
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


def same_reminder(group: ReminderGroup) -> Any:
    return (
        (Reminder.kind == group.kind.value)
        & (Reminder.round == group.round["id"])
        & (Reminder.offset_minutes == group.offset_minutes)
    )


def _not_reminded(column: Any, group: ReminderGroup) -> Any:
    """recipient NOT IN (those already reminded for this kind, round and offset, against
    this deadline or a later one). A reminder sent before an extension moved the
    deadline later does not count: it is re-armed for the new deadline."""
    return column.not_in(
        Reminder.select(Reminder.recipient).where(
            same_reminder(group) & (Reminder.due_at >= group.due_at)
        )
    )


async def _unscored_members(group: ReminderGroup) -> list[dict[str, Any]]:
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


async def candidates(group: ReminderGroup, n: int) -> list[dict[str, Any]]:
    if group.prepared is not None:
        batch, group.prepared = group.prepared[:n], group.prepared[n:]
        return batch
    condition = (
        (Application.round == group.round["id"])
        & (Application.status == ApplicationStatus.draft.value)
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
