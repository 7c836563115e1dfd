"""Rounds: entered through `create_round`, moved on through `transition_round`.

`make_round` makes a published seat with one round (the shape most tests start from);
`add_round` adds a round to a seat that exists.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from portal import db
from portal.domain.audit import Actor
from portal.domain.reminders.schedule import ScheduleInput, update_reminder_schedule
from portal.domain.rounds.entry import RoundInput
from portal.domain.rounds.phase import RoundStage, get_round
from portal.domain.rounds.stages import transition_round
from portal.domain.rounds.times import create_round
from portal.domain.timerules import DEFAULT_ZONE
from portal.tables import Criterion, Question, Round
from tests.factories.common import BUILDER, instant
from tests.factories.common import now as clock

if TYPE_CHECKING:
    from tests.factories.seats import CriterionSpec, QuestionSpec, SeatSetup

# The order a round goes through after closing; archiving is the last step.
LIFECYCLE = (
    RoundStage.collecting,
    RoundStage.scoring,
    RoundStage.shortlisted,
    RoundStage.decided,
    RoundStage.archived,
)


@dataclass
class RoundSetup:
    seat_id: int
    round_id: int
    criteria: list[int] = field(default_factory=list)  # criterion ids, in order
    weights: list[int] = field(default_factory=list)
    questions: list[int] = field(default_factory=list)  # question ids, in order
    applications: list[int] = field(default_factory=list)  # as added by add_application
    applicants: list[int] = field(default_factory=list)  # user ids, same order


async def add_round(
    seat_id: int,
    opens_at: datetime | timedelta,
    closes_at: datetime | timedelta,
    *,
    stage: RoundStage | str = RoundStage.collecting,
    actor: Actor = BUILDER,
    now: datetime | None = None,
    **choices: Any,
) -> int:
    """A round of the seat through `create_round` (a timedelta is from `now`), then moved
    on to `stage`. `choices`: timezone, grace_minutes, anonymised.

    A round that has already closed is entered as if before it opened: the domain
    refuses a closing time that is not in the future, as it should for an admin."""
    t = now or clock()
    opens, closes = instant(opens_at, t), instant(closes_at, t)
    async with db.write_transaction():
        round_id = await create_round(
            seat_id, RoundInput.at(opens, closes, **choices), actor, min(t, opens)
        )
        await advance_round(round_id, stage, actor=actor, now=t)
    return round_id


async def advance_round(
    round_id: int,
    stage: RoundStage | str,
    *,
    actor: Actor = BUILDER,
    now: datetime | None = None,
) -> None:
    """Move the round on, one `transition_round` at a time, until it is at `stage`
    (scoring numbers the submitted applications). Only a closed round moves on."""
    target = RoundStage(stage)
    t = now or clock()
    async with db.write_transaction():
        current = RoundStage((await get_round(round_id))["stage"])
        while LIFECYCLE.index(current) < LIFECYCLE.index(target):
            current = LIFECYCLE[LIFECYCLE.index(current) + 1]
            # A builder asks for the stage outright: no admin is there to confirm a cutoff.
            await transition_round(round_id, current, actor, t, confirm_cutoff=True)


async def set_stage(round_id: int, stage: RoundStage | str) -> None:
    """Put the round at `stage` directly, for states no admin can reach (back to
    collecting after scoring began, say): `advance_round` is the path the rules allow."""
    async with db.write_transaction():
        await Round.update(
            {Round.stage: RoundStage(stage).value, Round.stage_changed_at: clock()}
        ).where(Round.id == round_id)


async def set_scoring_deadline(round_id: int, deadline: datetime | None) -> None:
    """Written directly, so a test can put it in the past (the admin's form,
    `update_scoring_settings`, only takes a future one)."""
    async with db.write_transaction():
        await Round.update({Round.scoring_deadline: deadline}).where(Round.id == round_id)


async def set_reminders(
    round_id: int,
    *,
    hours: str | None = None,
    closed_notice: bool | None = None,
    panel_hours: str | None = None,
    actor: Actor = BUILDER,
) -> None:
    """Change the round's reminder schedule through the admin's `update_reminder_schedule`
    (what is not given stays as it is): `hours` before the deadline for drafts, the
    notice after it closes, `panel_hours` before the scoring deadline."""
    async with db.write_transaction():
        row = await get_round(round_id)
        change = ScheduleInput(
            reminder_hours=row["reminder_hours"] if hours is None else hours,
            closed_notice=row["closed_notice"] if closed_notice is None else closed_notice,
            panel_reminder_hours=row["panel_reminder_hours"]
            if panel_hours is None
            else panel_hours,
        )
        await update_reminder_schedule(round_id, change, actor, clock())


async def make_round(
    *,
    seat: SeatSetup | int | None = None,
    opens_at: datetime | timedelta | None = None,
    closes_at: datetime | timedelta | None = None,
    stage: RoundStage | str = RoundStage.collecting,
    timezone: str = DEFAULT_ZONE,
    grace_minutes: int = 0,
    anonymised: bool = True,
    reminder_hours: str | None = None,
    scoring_deadline: datetime | None = None,
    title: str = "Racial equity lead",
    slug: str | None = None,
    published: bool = True,
    summary: str = "A seat on the advisory group.",
    criteria: Sequence[CriterionSpec] | None = None,
    weights: Sequence[int] = (2, 1),
    questions: Sequence[QuestionSpec] | int = 1,
    actor: Actor = BUILDER,
    now: datetime | None = None,
    **seat_text: str,
) -> RoundSetup:
    """A round of `seat`, or else of a new published seat (`make_seat`) with a random
    slug unless given, `criteria` in full or numbered ones ("Criterion 1", ...) with
    these `weights`, and `questions` as specs or a number of numbered ones.

    By default the round closed an hour ago, opened two weeks before that, has no grace
    period and is still collecting; a timedelta is from now. `reminder_hours`, when
    given, goes through the admin's reminder schedule; `scoring_deadline` is written
    directly (no admin path sets one).
    """
    from tests.factories.seats import (  # seats add rounds, so this import waits
        SeatSetup,
        make_seat,
        numbered_criteria,
        numbered_questions,
    )

    t = now or clock()
    closes = instant(closes_at, t) if closes_at is not None else t - timedelta(hours=1)
    opens = instant(opens_at, t) if opens_at is not None else closes - timedelta(days=14)
    async with db.write_transaction():
        if seat is None:
            seat = await make_seat(
                title,
                slug=f"seat-{secrets.token_hex(4)}" if slug is None else slug,
                published=published,
                summary=summary,
                criteria=numbered_criteria(*weights) if criteria is None else criteria,
                questions=numbered_questions(questions)
                if isinstance(questions, int)
                else questions,
                actor=actor,
                now=min(t, opens),
                **seat_text,
            )
        elif not isinstance(seat, SeatSetup):
            seat = await _seat_setup(seat)
        round_id = await add_round(
            seat.seat_id,
            opens,
            closes,
            actor=actor,
            now=t,
            timezone=timezone,
            grace_minutes=grace_minutes,
            anonymised=anonymised,
        )
        if reminder_hours is not None:
            await set_reminders(round_id, hours=reminder_hours, actor=actor)
        if scoring_deadline is not None:
            await set_scoring_deadline(round_id, scoring_deadline)
        await advance_round(round_id, stage, actor=actor, now=t)
    return RoundSetup(
        seat_id=seat.seat_id,
        round_id=round_id,
        criteria=list(seat.criteria),
        weights=list(seat.weights),
        questions=list(seat.questions),
    )


async def _seat_setup(seat_id: int) -> SeatSetup:
    from tests.factories.seats import SeatSetup

    criteria = (
        await Criterion.select(Criterion.id, Criterion.weight)
        .where(Criterion.seat == seat_id)
        .order_by(Criterion.position)
    )
    questions = (
        await Question.select(Question.id)
        .where(Question.seat == seat_id)
        .order_by(Question.position)
    )
    return SeatSetup(
        seat_id,
        criteria=[c["id"] for c in criteria],
        weights=[c["weight"] for c in criteria],
        questions=[q["id"] for q in questions],
    )
