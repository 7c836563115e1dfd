"""Seats, their criteria and questions: validation, saving, publishing, the criteria lock.

Criteria lock once any round of the seat has opened: applicants write statements
against them and panels score against them, so changing them mid-round is unfair.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, NotFound, ensure_record_id
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Criterion, Question, Round, Seat

TITLE_MAX = 200
TEXT_MAX = 20_000
SUMMARY_MAX = 1_000
SLUG_MAX = 120
MAX_WEIGHT = 10
MAX_WORD_LIMIT = 5_000
MAX_ITEMS = 20


class CriteriaLocked(Conflict):
    """A round of this seat has opened, so its criteria can no longer change."""


@dataclass
class SeatInput:
    title: str = ""
    slug: str = ""
    summary: str = ""
    description: str = ""
    eligibility: str = ""
    represents: str = ""
    time_commitment: str = ""
    remuneration: str = ""
    location: str = ""
    how_to_apply: str = ""


@dataclass
class CriterionInput:
    title: str = ""
    guidance: str = ""
    weight: int | str = 1


@dataclass
class QuestionInput:
    prompt: str = ""
    word_limit: int | str = 300
    required: bool = True


@dataclass(eq=False)  # eq would make the exception unhashable
class ValidationErrors(DomainError):
    """Several field errors at once, for a form's error summary."""

    errors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        first = next(iter(self.errors.values()), "Check the form.")
        super().__init__(first, field=next(iter(self.errors), None))


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:SLUG_MAX].strip("-")


def _clean(value: Any) -> str:
    # NUL bytes are refused by PostgreSQL and have no place in text; CR LF becomes LF.
    return str(value or "").replace("\x00", "").replace("\r\n", "\n").strip()


def clean_seat(data: SeatInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    values = {f.name: _clean(getattr(data, f.name)) for f in fields(SeatInput)}
    if not values["title"]:
        errors["title"] = "Enter a title for the seat."
    elif len(values["title"]) > TITLE_MAX:
        errors["title"] = f"Keep the title under {TITLE_MAX} characters."
    values["slug"] = slugify(values["slug"] or values["title"])
    if values["title"] and not values["slug"]:
        errors["slug"] = "Enter a web address name using letters and numbers."
    if len(values["summary"]) > SUMMARY_MAX:
        errors["summary"] = f"Keep the summary under {SUMMARY_MAX} characters."
    for name in (
        "description",
        "eligibility",
        "represents",
        "time_commitment",
        "remuneration",
        "location",
        "how_to_apply",
    ):
        if len(values[name]) > TEXT_MAX:
            errors[name] = f"Keep this under {TEXT_MAX:,} characters."
    if errors:
        raise ValidationErrors(errors=errors)
    return values


def _int(
    value: int | str, name: str, label: str, low: int, high: int, errors: dict[str, str]
) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        errors[name] = f"{label} must be a whole number from {low} to {high}."
        return low
    if not low <= number <= high:
        errors[name] = f"{label} must be from {low} to {high}."
    return number


def clean_criterion(data: CriterionInput, prefix: str = "") -> dict[str, Any]:
    errors: dict[str, str] = {}
    title, guidance = _clean(data.title), _clean(data.guidance)
    if not title:
        errors[f"{prefix}title"] = "Enter a title for the criterion."
    elif len(title) > TITLE_MAX:
        errors[f"{prefix}title"] = f"Keep the criterion title under {TITLE_MAX} characters."
    if len(guidance) > TEXT_MAX:
        errors[f"{prefix}guidance"] = f"Keep the guidance under {TEXT_MAX:,} characters."
    weight = _int(data.weight, f"{prefix}weight", "The weight", 1, MAX_WEIGHT, errors)
    if errors:
        raise ValidationErrors(errors=errors)
    return {"title": title, "guidance": guidance, "weight": weight}


def clean_question(data: QuestionInput, prefix: str = "") -> dict[str, Any]:
    errors: dict[str, str] = {}
    prompt = _clean(data.prompt)
    if not prompt:
        errors[f"{prefix}prompt"] = "Enter the question."
    elif len(prompt) > SUMMARY_MAX:
        errors[f"{prefix}prompt"] = f"Keep the question under {SUMMARY_MAX} characters."
    limit = _int(
        data.word_limit, f"{prefix}word_limit", "The word limit", 1, MAX_WORD_LIMIT, errors
    )
    if errors:
        raise ValidationErrors(errors=errors)
    return {"prompt": prompt, "word_limit": limit, "required": bool(data.required)}


async def get_seat(seat_id: int) -> dict[str, Any]:
    ensure_record_id(seat_id, "There is no such seat.")
    row = await Seat.select().where(Seat.id == seat_id).first()
    if row is None:
        raise NotFound("There is no such seat.")
    return row


async def _ensure_unique_slug(slug: str, seat_id: int | None) -> None:
    query = Seat.exists().where(Seat.slug == slug)
    if seat_id is not None:
        query = Seat.exists().where((Seat.slug == slug) & (Seat.id != seat_id))
    if await query:
        raise ValidationErrors(errors={"slug": "Another seat already uses that web address name."})


async def create_seat(data: SeatInput, actor: Actor, now: datetime) -> int:
    values = clean_seat(data)
    await _ensure_unique_slug(values["slug"], None)
    now = ensure_aware_utc(now)
    rows = await Seat.insert(
        Seat(**values, published=False, created_at=now, updated_at=now)
    ).returning(Seat.id)
    seat_id = rows[0]["id"]
    await record_event(
        actor, "seat.created", "seat", seat_id, now, detail={"title": values["title"]}
    )
    return seat_id


async def update_seat(seat_id: int, data: SeatInput, actor: Actor, now: datetime) -> None:
    await get_seat(seat_id)
    values = clean_seat(data)
    await _ensure_unique_slug(values["slug"], seat_id)
    await Seat.update(
        {**{getattr(Seat, k): v for k, v in values.items()}, Seat.updated_at: ensure_aware_utc(now)}
    ).where(Seat.id == seat_id)
    await record_event(
        actor, "seat.updated", "seat", seat_id, now, detail={"title": values["title"]}
    )


async def set_published(seat_id: int, published: bool, actor: Actor, now: datetime) -> None:
    await get_seat(seat_id)
    await Seat.update({Seat.published: published, Seat.updated_at: ensure_aware_utc(now)}).where(
        Seat.id == seat_id
    )
    await record_event(
        actor, "seat.published" if published else "seat.unpublished", "seat", seat_id, now
    )


# The lock never lifts: panels score a closed round against these same criteria,
# so the message must not promise that a later round unlocks them.
CRITERIA_LOCKED_REASON = (
    "The criteria and questions are locked because a round of this seat has opened: "
    "applicants write against them and the panel scores against them. "
    "To ask for something different, create a new seat."
)


async def criteria_locked(seat_id: int, now: datetime) -> bool:
    return await Round.exists().where(
        (Round.seat == seat_id) & (Round.opens_at <= ensure_aware_utc(now))
    )


async def ensure_criteria_unlocked(seat_id: int, now: datetime) -> None:
    if await criteria_locked(seat_id, now):
        raise CriteriaLocked(CRITERIA_LOCKED_REASON)


async def add_criterion(seat_id: int, data: CriterionInput, actor: Actor, now: datetime) -> int:
    await get_seat(seat_id)
    await ensure_criteria_unlocked(
        seat_id, now
    )  # first: no point fixing a form that cannot be saved
    values = clean_criterion(data)
    count = await Criterion.count().where(Criterion.seat == seat_id)
    if count >= MAX_ITEMS:
        raise DomainError(f"A seat can have at most {MAX_ITEMS} criteria.")
    rows = await Criterion.insert(
        Criterion(seat=seat_id, position=await _next_position(Criterion, seat_id), **values)
    ).returning(Criterion.id)
    await record_event(
        actor,
        "criterion.added",
        "criterion",
        rows[0]["id"],
        now,
        detail={"seat_id": seat_id, **values},
    )
    return rows[0]["id"]


async def _next_position(table: type[Criterion] | type[Question], seat_id: int) -> int:
    """One past the last position: a count would repeat a position after a removal."""
    last = (
        await table.select(table.position)
        .where(table.seat == seat_id)
        .order_by(table.position, ascending=False)
        .first()
    )
    return 0 if last is None else last["position"] + 1


async def _criterion_of(seat_id: int, criterion_id: int) -> dict[str, Any]:
    ensure_record_id(seat_id, "There is no such seat.")
    ensure_record_id(criterion_id, "There is no such criterion on this seat.")
    row = (
        await Criterion.select()
        .where((Criterion.id == criterion_id) & (Criterion.seat == seat_id))
        .first()
    )
    if row is None:
        raise NotFound("There is no such criterion on this seat.")
    return row


async def update_criterion(
    seat_id: int, criterion_id: int, data: CriterionInput, actor: Actor, now: datetime
) -> None:
    await _criterion_of(seat_id, criterion_id)
    await ensure_criteria_unlocked(seat_id, now)
    values = clean_criterion(data)
    await Criterion.update({getattr(Criterion, k): v for k, v in values.items()}).where(
        Criterion.id == criterion_id
    )
    await record_event(
        actor,
        "criterion.updated",
        "criterion",
        criterion_id,
        now,
        detail={"seat_id": seat_id, **values},
    )


async def remove_criterion(seat_id: int, criterion_id: int, actor: Actor, now: datetime) -> None:
    await _criterion_of(seat_id, criterion_id)
    await ensure_criteria_unlocked(seat_id, now)
    await Criterion.delete().where(Criterion.id == criterion_id)
    await record_event(
        actor, "criterion.removed", "criterion", criterion_id, now, detail={"seat_id": seat_id}
    )


async def _question_of(seat_id: int, question_id: int) -> dict[str, Any]:
    ensure_record_id(seat_id, "There is no such seat.")
    ensure_record_id(question_id, "There is no such question on this seat.")
    row = (
        await Question.select()
        .where((Question.id == question_id) & (Question.seat == seat_id))
        .first()
    )
    if row is None:
        raise NotFound("There is no such question on this seat.")
    return row


async def add_question(seat_id: int, data: QuestionInput, actor: Actor, now: datetime) -> int:
    await get_seat(seat_id)
    await ensure_criteria_unlocked(seat_id, now)  # questions are part of what applicants answer
    values = clean_question(data)
    count = await Question.count().where(Question.seat == seat_id)
    if count >= MAX_ITEMS:
        raise DomainError(f"A seat can have at most {MAX_ITEMS} questions.")
    rows = await Question.insert(
        Question(seat=seat_id, position=await _next_position(Question, seat_id), **values)
    ).returning(Question.id)
    await record_event(
        actor, "question.added", "question", rows[0]["id"], now, detail={"seat_id": seat_id}
    )
    return rows[0]["id"]


async def update_question(
    seat_id: int, question_id: int, data: QuestionInput, actor: Actor, now: datetime
) -> None:
    await _question_of(seat_id, question_id)
    await ensure_criteria_unlocked(seat_id, now)
    values = clean_question(data)
    await Question.update({getattr(Question, k): v for k, v in values.items()}).where(
        Question.id == question_id
    )
    await record_event(
        actor, "question.updated", "question", question_id, now, detail={"seat_id": seat_id}
    )


async def remove_question(seat_id: int, question_id: int, actor: Actor, now: datetime) -> None:
    await _question_of(seat_id, question_id)
    await ensure_criteria_unlocked(seat_id, now)
    await Question.delete().where(Question.id == question_id)
    await record_event(
        actor, "question.removed", "question", question_id, now, detail={"seat_id": seat_id}
    )


async def seat_with_parts(seat_id: int) -> dict[str, Any]:
    """The seat with its criteria, questions and rounds, ordered for display."""
    seat = await get_seat(seat_id)
    seat["criteria"] = (
        await Criterion.select().where(Criterion.seat == seat_id).order_by(Criterion.position)
    )
    seat["questions"] = (
        await Question.select().where(Question.seat == seat_id).order_by(Question.position)
    )
    seat["rounds"] = await Round.select().where(Round.seat == seat_id).order_by(Round.opens_at)
    return seat


# Reads for the public JSON API. Unpublished seats, and their rounds, are NotFound here.


async def published_seats_with_rounds() -> list[dict[str, Any]]:
    """Every published seat (title order), each with all its rounds under "rounds"; two queries."""
    seats = (
        await Seat.select().where(Seat.published.eq(True)).order_by(Seat.title).order_by(Seat.id)
    )
    rounds = (
        await Round.select().where(Round.seat.published.eq(True)).order_by(Round.opens_at)
        if seats
        else []
    )
    by_seat: dict[int, list[dict[str, Any]]] = {seat["id"]: [] for seat in seats}
    for row in rounds:
        by_seat.setdefault(row["seat"], []).append(row)
    for seat in seats:
        seat["rounds"] = by_seat[seat["id"]]
    return seats


async def published_seat_with_parts(slug: str) -> dict[str, Any]:
    """A published seat by its slug, with criteria, questions and rounds."""
    message = "There is no published seat at this address."
    seat = (
        await Seat.select(Seat.id)
        .where((Seat.slug == slug[:SLUG_MAX]) & Seat.published.eq(True))
        .first()
    )
    if seat is None:
        raise NotFound(message)
    return await seat_with_parts(seat["id"])


async def published_round(round_id: int) -> dict[str, Any]:
    """A round of a published seat, with the seat's slug and title ("seat_slug", "seat_title")."""
    message = "There is no published round with this number."
    ensure_record_id(round_id, message)
    row = (
        await Round.select(
            *Round.all_columns(),
            Round.seat.slug.as_alias("seat_slug"),
            Round.seat.title.as_alias("seat_title"),
        )
        .where((Round.id == round_id) & Round.seat.published.eq(True))
        .first()
    )
    if row is None:
        raise NotFound(message)
    return row
