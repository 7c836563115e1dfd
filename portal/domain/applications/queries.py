"""Read-only views of applications for the applicant's own pages.

The write rules live in `portal.domain.applications.drafts`; this module only answers
what the pages ask: "which applications do I have", "can I still change this
one", "what is missing and where do I fix it", "which round am I starting".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.applications.records import ApplicationView, applicant_deadline
from portal.domain.applications.status import EDITABLE, ApplicationStatus
from portal.domain.errors import NotFound, ensure_record_id
from portal.domain.rounds.deadline import can_write, effective_deadline
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
    can_change: bool  # before the deadline (with its grace) and still editable
    round_open: bool  # writes are still accepted in the round (a withdrawn one can restart)


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
        open_now = can_write(now, closes_at, row["grace_minutes"])
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
                can_change=row["status"] in EDITABLE and open_now,
                round_open=open_now,
            )
        )
    return summaries


def can_change(view: ApplicationView, now: datetime) -> bool:
    """Whether the form is editable: the same test every write path makes."""
    return ApplicationStatus(view.application["status"]) in EDITABLE and can_write(
        now, view.deadline.closes_at, view.deadline.grace_minutes
    )


def missing_fields(view: ApplicationView) -> list[tuple[str, str]]:
    """`missing_parts`, each with the form field that fixes it ("cv" for the upload).

    Kept in step with `applications.missing_parts` by a test: same order, same words.
    """
    missing: list[tuple[str, str]] = []
    for number, question in enumerate(view.questions, start=1):
        if question["required"] and not view.answers.get(question["id"], "").strip():
            missing.append((f"question_{question['id']}", f"Answer question {number}."))
    for criterion in view.criteria:
        if not view.statements.get(criterion["id"], "").strip():
            missing.append(
                (f"criterion_{criterion['id']}", f"Write a statement for “{criterion['title']}”.")
            )
    if "cv" not in view.documents:
        missing.append(("cv", "Upload your CV."))
    return missing


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
        can_start=phase is not RoundPhase.upcoming
        and can_write(now, deadline.closes_at, deadline.grace_minutes),
        application_id=existing["id"] if existing else None,
        application_status=existing["status"] if existing else None,
    )
