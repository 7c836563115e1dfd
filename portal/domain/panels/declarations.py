"""A panel member's own declarations: the confidentiality undertaking and the
organisations they are connected to, and the conflicts those make.

Before a member sees any application they confirm confidentiality and declare the
organisations they are connected to; conflicts with applications from those
organisations, and with their own application in the round, become PanelConflict
rows the chair can see. The rules of who sees what live in `panel_access`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import DomainError
from portal.domain.panels.access import (
    PANEL_STATUSES,
    ConflictKind,
    is_ready,
    normalise_organisation,
)
from portal.domain.timerules import ensure_aware_utc
from portal.tables import (
    Application,
    PanelConflict,
    PanelMember,
    PanelOrganisation,
    User,
)

MAX_ORGANISATIONS = 20
MAX_ORGANISATION_NAME = 200

# The undertaking a member ticks before seeing any application (shown on the page).
CONFIDENTIALITY_UNDERTAKING = (
    "I will keep every application, score and panel discussion confidential. I will not "
    "copy, share or discuss them with anyone outside this panel, I will not try to find out "
    "who an anonymised applicant is, and I will tell the chair at once if I find I have a "
    "conflict of interest with any applicant."
)


async def member_rounds(user_id: int) -> list[dict[str, Any]]:
    """The rounds on whose panel this person sits (accepted, not removed), newest first."""
    rows = (
        await PanelMember.select(
            PanelMember.id,
            PanelMember.round,
            PanelMember.role,
            PanelMember.accepted_at,
            PanelMember.confidentiality_at,
            PanelMember.declarations_at,
            PanelMember.round.stage.as_alias("stage"),
            PanelMember.round.timezone.as_alias("timezone"),
            PanelMember.round.closes_at.as_alias("closes_at"),
            PanelMember.round.scoring_deadline.as_alias("scoring_deadline"),
            PanelMember.round.seat.title.as_alias("seat_title"),  # type: ignore[union-attr]
        )
        .where(
            (PanelMember.user == user_id)
            & PanelMember.accepted_at.is_not_null()
            & PanelMember.removed_at.is_null()
        )
        .order_by(PanelMember.round, ascending=False)
    )
    for row in rows:
        row["ready"] = is_ready(row)
    return rows


async def declared_organisations(member_id: int) -> list[str]:
    rows = (
        await PanelOrganisation.select(PanelOrganisation.name)
        .where(PanelOrganisation.member == member_id)
        .order_by(PanelOrganisation.id)
    )
    return [r["name"] for r in rows]


def parse_organisations(text: str) -> list[str]:
    """One organisation per line; blanks and repeats (after normalising) dropped."""
    names: list[str] = []
    seen: set[str] = set()
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        if any(ord(ch) < 32 and ch != "\t" for ch in line) or "\x7f" in line:
            raise DomainError(
                "An organisation name contains a character that cannot be used. Remove it.",
                field="organisations",
            )
        name = " ".join(line.split())
        if not name:
            continue
        if len(name) > MAX_ORGANISATION_NAME:
            raise DomainError(
                f"Keep each organisation name under {MAX_ORGANISATION_NAME} characters.",
                field="organisations",
            )
        key = normalise_organisation(name)
        if key not in seen:
            seen.add(key)
            names.append(name)
    if len(names) > MAX_ORGANISATIONS:
        raise DomainError(
            f"List at most {MAX_ORGANISATIONS} organisations. "
            "If you are connected to more, tell the admin who invited you.",
            field="organisations",
        )
    return names


async def materialise_conflicts(member: dict[str, Any], now: datetime) -> int:
    """PanelConflict rows for applications from the member's declared organisations and
    for the member's own application in the round; stale organisation rows the chair has
    not ruled on are dropped. Returns how many applications are now hidden this way."""
    now = ensure_aware_utc(now)
    declared = {
        r["normalised"]
        for r in await PanelOrganisation.select(PanelOrganisation.normalised).where(
            PanelOrganisation.member == member["id"]
        )
    }
    apps = await Application.select(
        Application.id,
        Application.applicant,
        Application.applicant.organisation.as_alias("organisation"),
    ).where((Application.round == member["round"]) & Application.status.is_in(list(PANEL_STATUSES)))
    wanted: dict[int, str] = {}
    for app in apps:
        if app["applicant"] == member["user"]:
            wanted[app["id"]] = "applicant"
        elif declared and normalise_organisation(app["organisation"]) in declared:
            wanted[app["id"]] = "organisation"
    existing = {
        r["application"]: r
        for r in await PanelConflict.select(
            PanelConflict.id,
            PanelConflict.application,
            PanelConflict.source,
            PanelConflict.decided_at,
        ).where(PanelConflict.member == member["id"])
    }
    stale = [
        r["id"]
        for app_id, r in existing.items()
        if r["source"] == "organisation" and app_id not in wanted and r["decided_at"] is None
    ]
    if stale:
        await PanelConflict.delete().where(PanelConflict.id.is_in(stale))
    for app_id, source in wanted.items():
        if app_id in existing:
            continue
        await PanelConflict.insert(
            PanelConflict(
                member=member["id"],
                application=app_id,
                kind=(
                    ConflictKind.personal.value
                    if source == "applicant"
                    else ConflictKind.organisational.value
                ),
                source=source,
                note=(
                    "The member has an application in this round."
                    if source == "applicant"
                    else "From an organisation the member declared a connection to."
                ),
                declared_at=now,
            )
        )
    return len(wanted)


async def make_declarations(
    member: dict[str, Any], confidential: bool, organisations: str, now: datetime
) -> list[str]:
    """Confirm confidentiality and (re)declare organisations; the member is then ready.

    Declaring again replaces the list. Returns the names stored.
    """
    now = ensure_aware_utc(now)
    names = parse_organisations(organisations)
    if not confidential:
        raise DomainError(
            "Tick the box to confirm you will keep the panel's work confidential.",
            field="confidentiality",
        )
    await PanelOrganisation.delete().where(PanelOrganisation.member == member["id"])
    for name in names:
        await PanelOrganisation.insert(
            PanelOrganisation(
                member=member["id"],
                name=name,
                normalised=normalise_organisation(name),
                declared_at=now,
            )
        )
    await PanelMember.update(
        {
            PanelMember.confidentiality_at: member["confidentiality_at"] or now,
            PanelMember.declarations_at: now,
        }
    ).where(PanelMember.id == member["id"])
    member = {**member, "declarations_at": now}
    hidden = await materialise_conflicts(member, now)
    user = await User.select(User.email).where(User.id == member["user"]).first()
    await record_event(
        Actor(member["user"], user["email"] if user else "panel member"),
        "panel.declarations_made",
        "panel_member",
        member["id"],
        now,
        round_id=member["round"],
        detail={"organisations": len(names), "conflicts": hidden},
    )
    return names
