"""The audit log: append-only rows saying who did what to which record, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.errors import MAX_RECORD_ID, DomainError
from portal.domain.timerules import ensure_aware_utc
from portal.tables import AuditEvent, Round


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an API token's owner, or the system."""

    user_id: int | None
    label: str

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, label="system")


async def record_event(
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: int | None,
    now: datetime,
    *,
    round_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await record_events(
        actor, action, subject_type, [(subject_id, detail or {})], now, round_id=round_id
    )


async def record_events(
    actor: Actor,
    action: str,
    subject_type: str,
    subjects: list[tuple[int | None, dict[str, Any]]],
    now: datetime,
    *,
    round_id: int | None = None,
) -> None:
    """Many events of one action, (subject id, detail) each, in one INSERT."""
    if not subjects:
        return
    await AuditEvent.insert(
        *[
            AuditEvent(
                at=ensure_aware_utc(now),
                actor=actor.user_id,
                actor_label=actor.label[:254],
                action=action,
                subject_type=subject_type,
                subject_id=subject_id,
                round=round_id,
                detail=detail,
            )
            for subject_id, detail in subjects
        ]
    )


# ---- Reading the log (the admin audit page) -------------------------------------

AUDIT_PAGE_SIZE = 50
MAX_ACTION = 64


@dataclass(frozen=True)
class AuditFilter:
    round_id: int | None = None
    action: str | None = None
    page: int = 1


@dataclass(frozen=True)
class AuditPage:
    events: list[dict[str, Any]]
    filter: AuditFilter
    page: int
    pages: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def parse_audit_filter(round_value: str, action_value: str, page_value: str) -> AuditFilter:
    """Read the page's query values; refuse a malformed round, ignore a page out of range.

    A page number that is not a plain number, or too large to mean anything, becomes
    the first or last page rather than an error: it is harmless.
    """
    round_text = (round_value or "").strip()
    round_id: int | None = None
    if round_text:
        if (
            not round_text.isdigit()
            or len(round_text) > 10
            or not 0 < int(round_text) <= MAX_RECORD_ID
        ):
            raise DomainError(
                "Choose a round from the list: the round in the address is not a round number.",
                field="round",
            )
        round_id = int(round_text)
    action = (action_value or "").strip() or None
    if action is not None and (len(action) > MAX_ACTION or not action.isprintable()):
        raise DomainError("Choose an action from the list.", field="action")
    page_text = (page_value or "").strip()
    if page_text.isdigit() and len(page_text) <= 9:
        page = max(int(page_text), 1)
    elif page_text.isdigit():
        page = 10**9  # clamped to the last page when the events are counted
    else:
        page = 1
    return AuditFilter(round_id=round_id, action=action, page=page)


async def list_events(audit_filter: AuditFilter, per_page: int = AUDIT_PAGE_SIZE) -> AuditPage:
    """Newest first, one page; the page number is clamped to the pages there are."""
    conditions: list[Any] = []
    if audit_filter.round_id is not None:
        conditions.append(AuditEvent.round == audit_filter.round_id)
    if audit_filter.action is not None:
        conditions.append(AuditEvent.action == audit_filter.action)
    condition = None
    for part in conditions:
        condition = part if condition is None else condition & part
    count = AuditEvent.count()
    query = AuditEvent.select(
        *AuditEvent.all_columns(),
        AuditEvent.round.seat.title.as_alias("round_seat_title"),  # type: ignore[union-attr]
    ).output(load_json=True)
    if condition is not None:
        count = count.where(condition)
        query = query.where(condition)
    total = await count
    pages = max(1, -(-total // per_page))
    page = min(max(audit_filter.page, 1), pages)
    rows = (
        await query.order_by(AuditEvent.at, ascending=False)
        .order_by(AuditEvent.id, ascending=False)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    for row in rows:
        if not isinstance(row["detail"], dict):  # a row written by hand or by an older version
            row["detail"] = {}
    return AuditPage(events=rows, filter=audit_filter, page=page, pages=pages, total=total)


async def audit_filter_choices() -> tuple[list[dict[str, Any]], list[str]]:
    """The rounds (with their seat's title) and the actions the filter form offers."""
    rounds = await Round.select(
        Round.id, Round.opens_at, Round.timezone, Round.seat.title.as_alias("seat_title")
    ).order_by(Round.id, ascending=False)
    actions = await AuditEvent.select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    return rounds, [row["action"] for row in actions]
