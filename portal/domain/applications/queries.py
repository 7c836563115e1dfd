"""Read-only views of applications for the applicant's own pages.

The write rules live in `portal.domain.applications.drafts`; this module only answers
what the pages ask: "which applications do I have", "can I still change this
one", "what is missing and where do I fix it", "which round am I starting".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.applications.records import (  # noqa: F401 (missing_fields: for pages)
    ApplicationView,
    applicant_deadline,
    missing_fields,
)
from portal.domain.applications.status import EDITABLE, ApplicationStatus, is_draft
from portal.domain.errors import NotFound, ensure_record_id
from portal.domain.rounds.deadline import (
    can_start,
    can_write,
    effective_deadline,
    is_before_deadline,
)
from portal.domain.rounds.phase import RoundPhase, round_phase
from portal.domain.timerules import DEFAULT_ZONE, ensure_aware_utc
from portal.tables import Application, DeadlineExtension, Round

NO_SUCH_ROUND = "There is no such round."


@dataclass(frozen=True)
class ApplicationSummary:
    """One row of "My applications"."""

    id: int
    round_id: int
    status: str
    reference: str | None
    received_at: datetime | None
    closes_at: datetime  # the applicant's effective deadline
    zone_name: str
    extended: bool
    seat_title: str
    seat_slug: str
    can_change: bool  # its answers and documents can still be changed (the deadline rule)
    can_start: (
        bool  # an application can be started (again, after a withdrawal): before the deadline
    )
    before_deadline: bool  # the page may say "until the closing time" (the grace is never told)


async def list_applications(applicant_id: int, now: datetime) -> list[ApplicationSummary]:
    """The applicant's applications, newest first, with each one's effective deadline."""
    rows = (
        await Application.select(
            Application.id,
            Application.status,
            Application.reference,
            Application.received_at,
            Application.round.id.as_alias("round_id"),
            Application.round.closes_at.as_alias("round_closes_at"),
            Application.round.grace_minutes.as_alias("grace_minutes"),
            Application.round.stage.as_alias("stage"),
            Application.round.timezone.as_alias("zone_name"),
            Application.round.seat.title.as_alias("seat_title"),
            Application.round.seat.slug.as_alias("seat_slug"),
        )
        .where(Application.applicant == applicant_id)
        .order_by(Application.id, ascending=False)
    )
    extensions: dict[int, datetime] = {}
    for ext in await DeadlineExtension.select(
        DeadlineExtension.round, DeadlineExtension.closes_at
    ).where(DeadlineExtension.applicant == applicant_id):
        closes_at = ensure_aware_utc(ext["closes_at"])
        if ext["round"] not in extensions or closes_at > extensions[ext["round"]]:
            extensions[ext["round"]] = closes_at
    summaries = []
    for row in rows:
        round_closes = ensure_aware_utc(row["round_closes_at"])
        closes_at = effective_deadline(round_closes, extensions.get(row["round_id"]))
        finishing = row["status"] == ApplicationStatus.draft.value
        writable = can_write(
            now, closes_at, row["grace_minutes"], row["stage"], finishing=finishing
        )
        summaries.append(
            ApplicationSummary(
                id=row["id"],
                round_id=row["round_id"],
                status=row["status"],
                reference=row["reference"],
                received_at=row["received_at"],
                closes_at=closes_at,
                zone_name=row["zone_name"] or DEFAULT_ZONE,
                extended=closes_at > round_closes,
                seat_title=row["seat_title"],
                seat_slug=row["seat_slug"],
                can_change=row["status"] in EDITABLE and writable,
                can_start=can_start(now, closes_at, row["stage"]),
                before_deadline=is_before_deadline(now, closes_at, row["stage"]),
            )
        )
    return summaries


@dataclass(frozen=True)
class Allowed:
    """What the applicant may do with one application now, by the deadline rule (the same
    tests the write paths make), and whether a page may say it can still be changed."""

    change: bool  # save answers, upload documents
    submit: bool  # submit the draft, or changes saved before the deadline
    withdraw: bool
    start_again: bool  # after a withdrawal
    # Before the effective deadline, while collecting: only then may a page or receipt
    # say the application can still be changed ("until the closing time"). The grace
    # is never advertised.
    before_deadline: bool


def allowed(view: ApplicationView, now: datetime) -> Allowed:
    status = ApplicationStatus(view.application["status"])
    deadline = view.deadline
    editable = status in EDITABLE
    return Allowed(
        change=editable and deadline.can_write(now, finishing=is_draft(view.application)),
        submit=editable and deadline.can_write(now, finishing=True),
        withdraw=editable and deadline.can_write(now, finishing=False),
        start_again=status is ApplicationStatus.withdrawn and deadline.can_start(now),
        before_deadline=deadline.is_before(now),
    )


def can_change(view: ApplicationView, now: datetime) -> bool:
    """Whether the answers and documents can be changed: the test saves and uploads make."""
    return allowed(view, now).change


@dataclass(frozen=True)
class StartInfo:
    """What the start page says about a round, and whether the applicant already began."""

    round: dict[str, Any]
    phase: RoundPhase
    closes_at: datetime
    zone_name: str
    can_start: bool
    application_id: int | None
    application_status: str | None


async def start_info(round_id: int, applicant_id: int, now: datetime) -> StartInfo:
    """A published seat's round as the applicant sees it before starting (or resuming)."""
    ensure_record_id(round_id, NO_SUCH_ROUND)
    round_row = (
        await Round.select(
            *Round.all_columns(),
            Round.seat.published.as_alias("seat_published"),
            Round.seat.title.as_alias("seat_title"),
            Round.seat.slug.as_alias("seat_slug"),
            Round.seat.summary.as_alias("seat_summary"),
        )
        .where(Round.id == round_id)
        .first()
    )
    if round_row is None or not round_row["seat_published"]:
        raise NotFound(NO_SUCH_ROUND)
    deadline = await applicant_deadline(round_row, applicant_id)
    phase = round_phase(round_row["opens_at"], deadline.closes_at, now)
    existing = (
        await Application.select(Application.id, Application.status)
        .where((Application.applicant == applicant_id) & (Application.round == round_id))
        .first()
    )
    return StartInfo(
        round=round_row,
        phase=phase,
        closes_at=deadline.closes_at,
        zone_name=deadline.zone_name,
        can_start=phase is not RoundPhase.upcoming and deadline.can_start(now),
        application_id=existing["id"] if existing else None,
        application_status=existing["status"] if existing else None,
    )
