"""The "shortlist pack is ready" mail to each panel member.

It carries no personal data of any applicant: only the seat, how many were
shortlisted and a link behind sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from portal.domain.errors import Conflict, ensure_record_id
from portal.domain.outbox.messages import Mail, enqueue_mails
from portal.domain.outcomes.pack import PACK_STAGES, confirmed_shortlist
from portal.domain.panels.access import (
    panel_round,
)
from portal.domain.timerules import ensure_aware_utc
from portal.tables import (
    PanelMember,
    Seat,
    ShortlistEntry,
)


@dataclass(frozen=True)
class PackNotice:
    """What the "the shortlist pack is ready" mail to one member may say: nothing about applicants."""

    round_id: int
    member_id: int
    name: str
    email: str
    seat_title: str
    shortlisted: int


async def queue_pack_mails(
    round_id: int, compose: Callable[[PackNotice], Mail], now: datetime
) -> list[int]:
    """One outbox mail per active, accepted member (key `pack:{round}:{member}`).

    Call inside the transaction that confirms the shortlist, after the round has
    moved to "shortlisted". Returns the new outbox ids for the caller to dispatch
    after commit; a repeated call writes nothing twice.
    """
    ensure_record_id(round_id, "There is no such round.")
    round_row = await panel_round(round_id)
    if round_row["stage"] not in PACK_STAGES:
        raise Conflict("The shortlist pack goes out only once the shortlist is confirmed.")
    shortlist = await confirmed_shortlist(round_id)
    if shortlist is None:
        raise Conflict("The shortlist pack goes out only once the shortlist is confirmed.")
    count = await ShortlistEntry.count().where(ShortlistEntry.shortlist == shortlist["id"])
    seat = await Seat.select(Seat.title).where(Seat.id == round_row["seat"]).first()
    members = (
        await PanelMember.select(
            PanelMember.id,
            PanelMember.user.name.as_alias("name"),
            PanelMember.user.email.as_alias("email"),
        )
        .where(
            (PanelMember.round == round_id)
            & PanelMember.accepted_at.is_not_null()
            & PanelMember.removed_at.is_null()
            & (PanelMember.user.is_active == True)  # noqa: E712
        )
        .order_by(PanelMember.id)
    )
    mails = [
        compose(
            PackNotice(
                round_id=round_id,
                member_id=member["id"],
                name=member["name"],
                email=member["email"],
                seat_title=seat["title"] if seat else "",
                shortlisted=count,
            )
        )
        for member in members
    ]
    written = await enqueue_mails(mails, ensure_aware_utc(now))
    return sorted(written.values())


def pack_path(round_id: int) -> str:
    return f"/panel/rounds/{round_id}/pack"
