"""A seat's criteria and questions, and the lock on them.

Criteria lock once any round of the seat has opened: applicants write statements
against them and panels score against them, so changing them mid-round is unfair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, NotFound, ValidationErrors, ensure_record_id
from portal.domain.seats.editing import (
    SUMMARY_MAX,
    TEXT_MAX,
    TITLE_MAX,
    clean_field,
    get_seat,
    whole_number,
)
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Criterion, Question, Round

MAX_WEIGHT = 10


MAX_WORD_LIMIT = 5_000


MAX_ITEMS = 20


class CriteriaLocked(Conflict):
    """A round of this seat has opened, so its criteria can no longer change."""


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


def clean_criterion(data: CriterionInput, prefix: str = "") -> dict[str, Any]:
    errors: dict[str, str] = {}
    title, guidance = clean_field(data.title), clean_field(data.guidance)
    if not title:
        errors[f"{prefix}title"] = "Enter a title for the criterion."
    elif len(title) > TITLE_MAX:
        errors[f"{prefix}title"] = f"Keep the criterion title under {TITLE_MAX} characters."
    if len(guidance) > TEXT_MAX:
        errors[f"{prefix}guidance"] = f"Keep the guidance under {TEXT_MAX:,} characters."
    weight = whole_number(data.weight, f"{prefix}weight", "The weight", 1, MAX_WEIGHT, errors)
    if errors:
        raise ValidationErrors(errors=errors)
    return {"title": title, "guidance": guidance, "weight": weight}


def clean_question(data: QuestionInput, prefix: str = "") -> dict[str, Any]:
    errors: dict[str, str] = {}
    prompt = clean_field(data.prompt)
    if not prompt:
        errors[f"{prefix}prompt"] = "Enter the question."
    elif len(prompt) > SUMMARY_MAX:
        errors[f"{prefix}prompt"] = f"Keep the question under {SUMMARY_MAX} characters."
    limit = whole_number(
        data.word_limit, f"{prefix}word_limit", "The word limit", 1, MAX_WORD_LIMIT, errors
    )
    if errors:
        raise ValidationErrors(errors=errors)
    return {"prompt": prompt, "word_limit": limit, "required": bool(data.required)}


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
