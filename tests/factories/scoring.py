"""Score sheets: through the member's own save and submit, or written directly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from portal import db
from portal.domain.audit import Actor
from portal.domain.scoring.sheets import save_scores, submit_sheet
from portal.tables import Criterion, PanelMember, Round, Score, ScoreSheet, User
from tests.factories.common import now as clock


async def score_application(
    member_id: int,
    application_id: int,
    values: Sequence[int],
    comments: Mapping[int, str] | None = None,
    *,
    submit: bool = True,
    now: datetime | None = None,
) -> int:
    """The member scores the application (one value per criterion of the round, in
    order; `comments` by criterion id) and, when `submit`, submits the sheet, through
    `save_scores` and `submit_sheet`: so the round must be in scoring, the member ready
    and the application visible to them. Returns the sheet id."""
    t = now or clock()
    async with db.write_transaction():
        member = await PanelMember.select().where(PanelMember.id == member_id).first()
        criteria = await _criteria_of_round(member["round"])
        scores = dict(zip(criteria, values, strict=True))
        sheet_id = await save_scores(member, application_id, scores, comments or {}, t)
        if submit:
            user = await User.select(User.email).where(User.id == member["user"]).first()
            await submit_sheet(member, application_id, Actor(member["user"], user["email"]), t)
    return sheet_id


async def insert_sheet(
    member_id: int,
    application_id: int,
    criteria: Sequence[int],
    values: Sequence[int | None],
    *,
    submitted: bool = True,
    comments: Sequence[str] | None = None,
    now: datetime | None = None,
) -> int:
    """A member's sheet written directly (values per criterion, in order), for sheets
    the scoring rules would refuse: after scoring has closed, from a member who is not
    ready, or left half-scored yet submitted."""
    async with db.write_transaction():
        rows = await ScoreSheet.insert(
            ScoreSheet(
                member=member_id,
                application=application_id,
                submitted_at=(now or clock()) if submitted else None,
            )
        ).returning(ScoreSheet.id)
        for i, (criterion, value) in enumerate(zip(criteria, values, strict=True)):
            await Score.insert(
                Score(
                    sheet=rows[0]["id"],
                    criterion=criterion,
                    value=value,
                    comment=comments[i] if comments else "",
                )
            )
    return rows[0]["id"]


async def _criteria_of_round(round_id: int) -> list[int]:
    row = await Round.select(Round.seat).where(Round.id == round_id).first()
    rows = (
        await Criterion.select(Criterion.id)
        .where(Criterion.seat == row["seat"])
        .order_by(Criterion.position)
    )
    return [r["id"] for r in rows]
