"""Reads for the admin outbox page: filters, counts, one page of messages, queue health.

Filter values come from the address bar, typed by people and tools. A value that
cannot mean anything (an unknown status, an oversized kind or recipient, a round
that is not a number) is dropped with a note for the page, rather than refused:
the page still shows the queue, which is what an admin who opened it needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count

from portal.domain.errors import MAX_RECORD_ID
from portal.domain.outbox.messages import OutboxState
from portal.domain.timerules import ensure_aware_utc
from portal.tables import OutboxMessage, Round

PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_KIND = 40  # the column's length: anything longer cannot match
MAX_RECIPIENT = 254  # the column's length
# Oldest due message waiting longer than this: the worker or the broker is probably down
# (the sweep re-drives due rows every few seconds).
STALL_AFTER = timedelta(minutes=10)
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class OutboxFilter:
    status: str = ""
    kind: str = ""
    round_id: int | None = None
    recipient: str = ""
    page: int = 1
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def active(self) -> bool:
        return bool(self.status or self.kind or self.round_id or self.recipient)

    @property
    def exact_recipient(self) -> bool:
        """A whole address matches exactly; anything else is a part of one."""
        return bool(_ADDRESS.fullmatch(self.recipient))

    def query(self, page: int | None = None) -> dict[str, str]:
        """The address's query values for this filter (and a page), empty ones left out."""
        values = {
            "status": self.status,
            "kind": self.kind,
            "round": str(self.round_id or ""),
            "recipient": self.recipient,
            "page": str(page) if page and page > 1 else "",
        }
        return {k: v for k, v in values.items() if v}


def parse_outbox_filter(
    status: str = "", kind: str = "", round_value: str = "", recipient: str = "", page: str = ""
) -> OutboxFilter:
    problems: list[str] = []
    status = status.strip()
    if status and status not in OutboxState.__members__:
        problems.append("There is no such status; showing messages of every status.")
        status = ""
    kind = kind.strip()
    if len(kind) > MAX_KIND or not kind.isprintable():
        problems.append("There is no such kind of message; showing every kind.")
        kind = ""
    round_text = round_value.strip()
    round_id = None
    if round_text:
        if (
            round_text.isascii()
            and round_text.isdigit()
            and len(round_text) <= 10
            and 0 < int(round_text) <= MAX_RECORD_ID
        ):
            round_id = int(round_text)
        else:
            problems.append("There is no such round; showing messages of every round.")
    recipient = recipient.strip().lower()
    if len(recipient) > MAX_RECIPIENT or not recipient.isprintable():
        problems.append(
            f"A recipient's address is at most {MAX_RECIPIENT} characters; showing every recipient."
        )
        recipient = ""
    page = page.strip()
    number = min(int(page), MAX_PAGE) if page.isdigit() and len(page) < 9 and int(page) > 0 else 1
    return OutboxFilter(status, kind, round_id, recipient, number, tuple(problems))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _condition(f: OutboxFilter):
    condition = OutboxMessage.id > 0
    if f.status:
        condition &= OutboxMessage.status == f.status
    if f.kind:
        condition &= OutboxMessage.kind == f.kind
    if f.round_id:
        condition &= OutboxMessage.round == f.round_id
    if f.recipient and f.exact_recipient:
        condition &= WhereRaw("LOWER(recipient) = {}", f.recipient)
    elif f.recipient:
        # ESCAPE '\' reads the same on SQLite and PostgreSQL; % and _ typed are literal.
        pattern = f"%{_escape_like(f.recipient)}%"
        condition &= WhereRaw("LOWER(recipient) LIKE {} ESCAPE '\\'", pattern)
    return condition


async def list_messages(
    f: OutboxFilter, page_size: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int]:
    """One page of messages, newest first, and how many match in all."""
    condition = _condition(f)
    total = await OutboxMessage.count().where(condition)
    rows = (
        await OutboxMessage.select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.recipient,
            OutboxMessage.subject,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.round,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
            OutboxMessage.next_attempt_at,
            OutboxMessage.claimed_at,
            OutboxMessage.expires_at,
        )
        .where(condition)
        .order_by(OutboxMessage.created_at, ascending=False)
        .order_by(OutboxMessage.id, ascending=False)
        .limit(page_size)
        .offset((max(f.page, 1) - 1) * page_size)
    )
    return rows, total


async def count_by_status() -> dict[str, int]:
    """Every state with its count (zero included), in the enum's order."""
    rows = await OutboxMessage.select(
        OutboxMessage.status, Count(OutboxMessage.id, alias="n")
    ).group_by(OutboxMessage.status)
    found = {r["status"]: r["n"] for r in rows}
    return {state.value: found.get(state.value, 0) for state in OutboxState}


async def message_kinds() -> list[str]:
    rows = await OutboxMessage.select(OutboxMessage.kind).distinct().order_by(OutboxMessage.kind)
    return [r["kind"] for r in rows]


async def rounds_with_mail() -> list[dict[str, Any]]:
    """The rounds that have at least one message, newest first, with their seat's title."""
    rows = (
        await OutboxMessage.select(OutboxMessage.round)
        .where(OutboxMessage.round.is_not_null())
        .distinct()
    )
    ids = [r["round"] for r in rows]
    if not ids:
        return []
    return await (
        Round.select(
            Round.id, Round.opens_at, Round.timezone, Round.seat.title.as_alias("seat_title")
        )
        .where(Round.id.is_in(ids))
        .order_by(Round.id, ascending=False)
    )


@dataclass(frozen=True)
class QueueHealth:
    oldest_pending: dict[str, Any] | None  # id, created_at
    oldest_pending_age: timedelta | None
    longest_overdue: timedelta | None  # how long the most overdue due message has waited
    failures_last_hour: int
    held: int

    @property
    def stalled(self) -> bool:
        return self.longest_overdue is not None and self.longest_overdue > STALL_AFTER


async def queue_health(now: datetime) -> QueueHealth:
    """What tells an admin whether mail is flowing.

    The stall warning looks at due messages only: a pending message backing off
    after a 4xx is waiting on purpose, not on a dead worker.
    """
    now = ensure_aware_utc(now)
    pending = OutboxMessage.status == OutboxState.pending.value
    oldest = (
        await OutboxMessage.select(OutboxMessage.id, OutboxMessage.created_at)
        .where(pending)
        .order_by(OutboxMessage.created_at)
        .order_by(OutboxMessage.id)
        .first()
    )
    overdue = (
        await OutboxMessage.select(OutboxMessage.next_attempt_at)
        .where(pending & (OutboxMessage.next_attempt_at <= now))
        .order_by(OutboxMessage.next_attempt_at)
        .first()
    )
    failures = await OutboxMessage.count().where(
        OutboxMessage.failed_at >= now - timedelta(hours=1)
    )
    held = await OutboxMessage.count().where(OutboxMessage.status == OutboxState.held.value)
    return QueueHealth(
        oldest_pending=oldest,
        oldest_pending_age=now - ensure_aware_utc(oldest["created_at"]) if oldest else None,
        longest_overdue=now - ensure_aware_utc(overdue["next_attempt_at"]) if overdue else None,
        failures_last_hour=failures,
        held=held,
    )


@dataclass(frozen=True)
class OutboxOverview:
    """Everything the outbox list page reads, in one read transaction."""

    counts: dict[str, int]
    kinds: list[str]
    rounds: list[dict[str, Any]]
    health: QueueHealth
    messages: list[dict[str, Any]]
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


async def outbox_overview(wanted: OutboxFilter, now: datetime) -> OutboxOverview:
    messages, total = await list_messages(wanted)
    return OutboxOverview(
        counts=await count_by_status(),
        kinds=await message_kinds(),
        rounds=await rounds_with_mail(),
        health=await queue_health(now),
        messages=messages,
        total=total,
    )
