"""Seats with their criteria and questions, made the way an admin makes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from portal import db
from portal.domain.audit import Actor
from portal.domain.seats.editing import SeatInput, create_seat, set_published
from portal.domain.seats.parts import CriterionInput, QuestionInput, add_criterion, add_question
from tests.factories.common import BUILDER
from tests.factories.common import now as clock
from tests.factories.rounds import add_round

# (title, guidance, weight) of a criterion; (prompt, word limit, required) of a question.
CriterionSpec = tuple[str, str, int]
QuestionSpec = tuple[str, int, bool]


# The form most apply tests fill in: a required question with a five-word limit (easy to
# go over), an optional one, and one criterion.
SHORT_FORM: dict = {
    "criteria": [("Lived experience", "", 1)],
    "questions": [("Why you?", 5, True), ("Anything else?", 50, False)],
}


def numbered_criteria(*weights: int) -> list[CriterionSpec]:
    """ "Criterion 1", "Criterion 2", ... with these weights."""
    return [
        (f"Criterion {i}", f"Evidence of criterion {i}.", weight)
        for i, weight in enumerate(weights, start=1)
    ]


def numbered_questions(count: int) -> list[QuestionSpec]:
    """ "Question 1?", "Question 2?", ... required, 300 words each."""
    return [(f"Question {i}?", 300, True) for i in range(1, count + 1)]


@dataclass
class SeatSetup:
    seat_id: int
    criteria: list[int] = field(default_factory=list)  # criterion ids, in order
    weights: list[int] = field(default_factory=list)
    questions: list[int] = field(default_factory=list)  # question ids, in order
    rounds: list[int] = field(default_factory=list)  # round ids, in the order given


async def make_seat(
    title: str = "Racial equity lead",
    *,
    slug: str = "",
    published: bool = True,
    criteria: Sequence[CriterionSpec] = (),
    questions: Sequence[QuestionSpec] = (),
    rounds: Sequence[tuple[datetime | timedelta, datetime | timedelta]] = (),
    actor: Actor = BUILDER,
    now: datetime | None = None,
    **text: str,
) -> SeatSetup:
    """A seat as an admin makes one: `create_seat`, `add_criterion` and `add_question`
    for each spec, `set_published` (unless not `published`), then a round through
    `add_round` for each (opens, closes) in `rounds`. `text`: the seat's other fields
    (summary, description, ...). The slug is made from the title unless given, as on
    the admin form, so two seats of one title need slugs of their own.
    """
    t = now or clock()
    async with db.write_transaction():
        seat_id = await create_seat(SeatInput(title=title, slug=slug, **text), actor, t)
        setup = SeatSetup(seat_id, weights=[weight for _, _, weight in criteria])
        for c_title, guidance, weight in criteria:
            setup.criteria.append(
                await add_criterion(seat_id, CriterionInput(c_title, guidance, weight), actor, t)
            )
        for prompt, word_limit, required in questions:
            setup.questions.append(
                await add_question(seat_id, QuestionInput(prompt, word_limit, required), actor, t)
            )
        if published:
            await set_published(seat_id, True, actor, t)
        for opens, closes in rounds:
            setup.rounds.append(await add_round(seat_id, opens, closes, actor=actor, now=t))
    return setup
