"""The chair's (and admins') side of scoring: who may oversee a round, closing
scoring now, reopening a member's submitted sheet, and each member's progress.

Kept apart from the member's own reads and writes because every call here starts
with `overseer`, and a refusal is NotFound, as for anything else not one's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, NotFound, ensure_record_id
from portal.domain.panels.access import NOT_FOUND, PanelRole, is_ready, panel_label, panel_round
from portal.domain.scoring.queries import round_criteria, visible_applications
from portal.domain.scoring.rules import ScoringClosed, ensure_scoring_open, scoring_window
from portal.domain.timerules import ensure_aware_utc
from portal.tables import PanelMember, Round, Score, ScoreSheet, User


async def overseer(user_id: int | None, round_id: int) -> dict[str, Any] | None:
    """May this user oversee the round's scoring? The chair's membership, None for an
    admin, NotFound for anyone else (a member, another round's chair, an applicant)."""
    ensure_record_id(round_id, NOT_FOUND)
    if user_id is None:
        raise NotFound(NOT_FOUND)
    await panel_round(round_id)
    user = await User.select(User.role, User.is_active).where(User.id == user_id).first()
    if user and user["is_active"] and user["role"] == "admin":
        return None
    chair = (
        await PanelMember.select()
        .where(
            (PanelMember.user == user_id)
            & (PanelMember.round == round_id)
            & (PanelMember.role == PanelRole.chair.value)
            & PanelMember.accepted_at.is_not_null()
            & PanelMember.removed_at.is_null()
        )
        .first()
    )
    if chair is None:
        raise NotFound(NOT_FOUND)
    return chair


async def close_scoring(round_id: int, actor: Actor, now: datetime) -> None:
    """Close scoring at this moment (the chair or an admin): the deadline becomes now."""
    now = ensure_aware_utc(now)
    await overseer(actor.user_id, round_id)
    round_row = await panel_round(round_id)
    ensure_scoring_open(round_row, now)
    await Round.update({Round.scoring_deadline: now}).where(Round.id == round_id)
    previous = round_row["scoring_deadline"]
    await record_event(
        actor,
        "scoring.closed",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={"planned_deadline": previous.isoformat() if previous else None},
    )


async def reopen_sheet(round_id: int, sheet_id: int, actor: Actor, now: datetime) -> dict:
    """Reopen a member's submitted sheet (the chair or an admin), while scoring is open."""
    now = ensure_aware_utc(now)
    ensure_record_id(sheet_id, NOT_FOUND)
    await overseer(actor.user_id, round_id)
    round_row = await panel_round(round_id)
    sheet = (
        await ScoreSheet.select(
            ScoreSheet.id,
            ScoreSheet.application,
            ScoreSheet.member,
            ScoreSheet.submitted_at,
        )
        .where((ScoreSheet.id == sheet_id) & (ScoreSheet.member.round == round_id))
        .first()
    )
    if sheet is None:
        raise NotFound(NOT_FOUND)
    if not scoring_window(round_row, now).is_open:
        raise ScoringClosed(
            scoring_window(round_row, now).message
            + " A reopened sheet could not be changed, so it stays submitted."
        )
    if sheet["submitted_at"] is None:
        raise Conflict("That score sheet is not submitted, so there is nothing to reopen.")
    done = (
        await ScoreSheet.update(
            {
                ScoreSheet.submitted_at: None,
                ScoreSheet.reopened_at: now,
                ScoreSheet.reopened_by: actor.user_id,
                ScoreSheet.updated_at: now,
            }
        )
        .where((ScoreSheet.id == sheet_id) & ScoreSheet.submitted_at.is_not_null())
        .returning(ScoreSheet.id)
    )
    if not done:
        raise Conflict("That score sheet is not submitted, so there is nothing to reopen.")
    await record_event(
        actor,
        "scoring.sheet_reopened",
        "score_sheet",
        sheet_id,
        now,
        round_id=round_id,
        detail={
            "application_id": sheet["application"],
            "member_id": sheet["member"],
            "submitted_at": sheet["submitted_at"].isoformat(),
        },
    )
    return sheet


@dataclass
class MemberProgress:
    member_id: int
    name: str
    role: str
    ready: bool
    assigned: int
    scored: int  # every criterion scored
    submitted: int
    sheets: list[dict[str, Any]]  # submitted sheets: id, label, submitted_at


async def progress(round_id: int) -> list[MemberProgress]:
    """Per member of the round: applications to score, fully scored, submitted.
    Applications are named only by panel label here, whatever the round."""
    ensure_record_id(round_id, NOT_FOUND)
    round_row = await panel_round(round_id)
    criteria_count = len(await round_criteria(round_row))
    members = (
        await PanelMember.select(*PanelMember.all_columns(), PanelMember.user.name.as_alias("name"))
        .where(
            (PanelMember.round == round_id)
            & PanelMember.accepted_at.is_not_null()
            & PanelMember.removed_at.is_null()
        )
        .order_by(PanelMember.id)
    )
    sheets = await ScoreSheet.select(
        ScoreSheet.id,
        ScoreSheet.member,
        ScoreSheet.application,
        ScoreSheet.submitted_at,
        ScoreSheet.application.panel_number.as_alias("panel_number"),
    ).where(ScoreSheet.member.round == round_id)
    counts: dict[int, int] = {}
    if sheets:
        for score in await Score.select(Score.sheet).where(
            Score.sheet.is_in([s["id"] for s in sheets]) & Score.value.is_not_null()
        ):
            counts[score["sheet"]] = counts.get(score["sheet"], 0) + 1
    out = []
    for member in members:
        visible = {row["id"] for row in await visible_applications(member)}
        own = [s for s in sheets if s["member"] == member["id"] and s["application"] in visible]
        out.append(
            MemberProgress(
                member_id=member["id"],
                name=member["name"],
                role=member["role"],
                ready=is_ready(member),
                assigned=len(visible),
                scored=sum(
                    1 for s in own if criteria_count and counts.get(s["id"], 0) >= criteria_count
                ),
                submitted=sum(1 for s in own if s["submitted_at"] is not None),
                sheets=[
                    {
                        "id": s["id"],
                        "label": panel_label(s),
                        "submitted_at": s["submitted_at"],
                    }
                    for s in sorted(own, key=lambda s: (s["panel_number"] or 0, s["id"]))
                    if s["submitted_at"] is not None
                ],
            )
        )
    return out
