"""The panel's roster, as the admin runs it: the round, its live members and their
state, the chair (at most one: making someone chair makes the previous chair an
ordinary member), and removal.

Inviting people lives in `portal.domain.panels.invitations`; a member's own
declarations in `portal.domain.panels.declarations`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, NotFound, ensure_record_id
from portal.domain.panels.access import PanelRole, is_ready
from portal.domain.timerules import ensure_aware_utc
from portal.tables import PanelMember, Round

ARCHIVED = "archived"

NO_SUCH_MEMBER = "There is no such panel member on this round."


async def round_for_panel(round_id: int) -> dict[str, Any]:
    ensure_record_id(round_id, "There is no such round.")
    row = (
        await Round.select(
            Round.id, Round.stage, Round.anonymised, Round.seat.title.as_alias("seat_title")
        )
        .where(Round.id == round_id)
        .first()
    )
    if row is None:
        raise NotFound("There is no such round.")
    return row


def ensure_not_archived(round_row: dict[str, Any]) -> None:
    if round_row["stage"] == ARCHIVED:
        raise Conflict("This round is archived, so its panel can no longer change.")


async def member_of_round(round_id: int, member_id: int) -> dict[str, Any]:
    """A live (not removed) member of this round, or NotFound: another round's id is not ours."""
    ensure_record_id(member_id, NO_SUCH_MEMBER)
    row = (
        await PanelMember.select(
            *PanelMember.all_columns(),
            PanelMember.user.email.as_alias("email"),
            PanelMember.user.name.as_alias("name"),
        )
        .where(
            (PanelMember.id == member_id)
            & (PanelMember.round == round_id)
            & PanelMember.removed_at.is_null()
        )
        .first()
    )
    if row is None:
        raise NotFound(NO_SUCH_MEMBER)
    return row


async def current_chair(round_id: int) -> dict[str, Any] | None:
    return (
        await PanelMember.select(
            PanelMember.id, PanelMember.user, PanelMember.user.name.as_alias("name")
        )
        .where(
            (PanelMember.round == round_id)
            & (PanelMember.role == PanelRole.chair.value)
            & PanelMember.removed_at.is_null()
        )
        .first()
    )


async def appoint_chair(
    round_id: int, member_id: int, actor: Actor, now: datetime, name: str
) -> None:
    """Demote whoever chairs now, then promote; one audit event says both."""
    previous = await current_chair(round_id)
    if previous and previous["id"] == member_id:
        return
    await PanelMember.update({PanelMember.role: PanelRole.member.value}).where(
        (PanelMember.round == round_id) & (PanelMember.role == PanelRole.chair.value)
    )
    await PanelMember.update({PanelMember.role: PanelRole.chair.value}).where(
        PanelMember.id == member_id
    )
    await record_event(
        actor,
        "panel.chair_changed",
        "panel_member",
        member_id,
        now,
        round_id=round_id,
        detail={
            "chair": name,
            "previous_chair": previous["name"] if previous else None,
            "previous_member_id": previous["id"] if previous else None,
        },
    )


async def remove_member(round_id: int, member_id: int, actor: Actor, now: datetime) -> str:
    """Take someone off the panel: their link stops working and every panel page is a 404.

    Their scores and declarations stay (the record of what happened); a removed chair
    leaves the round without a chair until an admin names one. Returns their name.
    """
    now = ensure_aware_utc(now)
    round_row = await round_for_panel(round_id)
    ensure_not_archived(round_row)
    member = await member_of_round(round_id, member_id)
    await PanelMember.update(
        {
            PanelMember.removed_at: now,
            PanelMember.role: PanelRole.member.value,
            PanelMember.token_hash: None,
            PanelMember.token_expires_at: None,
        }
    ).where(PanelMember.id == member_id)
    await record_event(
        actor,
        "panel.member_removed",
        "panel_member",
        member_id,
        now,
        round_id=round_id,
        detail={"email": member["email"], "was_chair": member["role"] == PanelRole.chair.value},
    )
    return member["name"]


async def make_chair(round_id: int, member_id: int, actor: Actor, now: datetime) -> str:
    """Make a member the chair (the previous chair becomes a member). Returns their name."""
    now = ensure_aware_utc(now)
    round_row = await round_for_panel(round_id)
    ensure_not_archived(round_row)
    member = await member_of_round(round_id, member_id)
    await appoint_chair(round_id, member_id, actor, now, member["name"])
    return member["name"]


async def member_for_admin(round_id: int, member_id: int) -> dict[str, Any]:
    await round_for_panel(round_id)
    return await member_of_round(round_id, member_id)


def member_state(member: dict[str, Any], now: datetime) -> str:
    """Where a member is: invited (link live or expired), accepted, or ready."""
    if member["accepted_at"] is None:
        expires = member["token_expires_at"]
        if expires is None or ensure_aware_utc(expires) <= ensure_aware_utc(now):
            return "expired"
        return "invited"
    return "ready" if is_ready(member) else "accepted"


async def panel_members(round_id: int, now: datetime) -> list[dict[str, Any]]:
    """The round's live members, chair first, each with its state."""
    rows = (
        await PanelMember.select(
            *PanelMember.all_columns(exclude=[PanelMember.token_hash]),
            PanelMember.user.email.as_alias("email"),
            PanelMember.user.name.as_alias("name"),
        )
        .where((PanelMember.round == round_id) & PanelMember.removed_at.is_null())
        .order_by(PanelMember.id)
    )
    for row in rows:
        row["state"] = member_state(row, now)
    rows.sort(key=lambda r: (r["role"] != PanelRole.chair.value, r["name"].casefold()))
    return rows
