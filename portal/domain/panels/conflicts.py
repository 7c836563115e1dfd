"""Conflicts of interest: a member declares one, the chair (or an admin) may rule it minor.

A declared conflict hides the application from the member at once
(`panel_access.conflicted_application_ids`). Only a ruling of "minor", with a
reason, brings it back; every ruling is audited. What the chair sees of an
application follows the round's anonymity: "Applicant 7" until the shortlist,
never the applicant's name.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import DomainError, NotFound, ensure_record_id
from portal.domain.panels.access import (
    NOT_FOUND,
    PANEL_STATUSES,
    ConflictDecision,
    ConflictKind,
    PanelRole,
    Revealed,
    organisation_matches,
    panel_label,
    panel_round,
    revealed_applications,
    visible_application,
)
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Application, PanelConflict, PanelMember, User

MAX_NOTE = 2000
MAX_REASON = 2000

KIND_LABELS = {
    ConflictKind.organisational.value: "Organisational: I work for, volunteer with or advise their organisation",
    ConflictKind.personal.value: "Personal: I know them as a friend, relative or close colleague",
    ConflictKind.financial.value: "Financial: money passes between us or our organisations",
    ConflictKind.other.value: "Something else (say what in the note)",
}

SOURCE_LABELS = {
    "declared": "Declared by the member",
    "organisation": "An organisation the member declared a connection to",
    "applicant": "The member applied to this round",
}


def _text(value: str, field: str, label: str, limit: int, *, required: bool) -> str:
    value = (value or "").replace("\r\n", "\n").strip()
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        raise DomainError(f"{label} contains a character that cannot be used.", field=field)
    if len(value) > limit:
        raise DomainError(f"Keep {label.lower()} under {limit} characters.", field=field)
    if required and not value:
        raise DomainError(f"Enter {label.lower()}.", field=field)
    return value


def application_label(application: dict[str, Any], revealed: Revealed) -> str:
    """What the panel calls an application: the name where the panel may know it,
    "Applicant 7" otherwise."""
    if application["id"] in revealed and application.get("applicant_name"):
        return application["applicant_name"]
    return panel_label(application)


async def _actor_of_member(member: dict[str, Any]) -> Actor:
    user = await User.select(User.email).where(User.id == member["user"]).first()
    return Actor(member["user"], user["email"] if user else "panel member")


async def declare_conflict(
    member: dict[str, Any], application_id: int, kind: str, note: str, now: datetime
) -> int:
    """The member says "I have a conflict" with an application they can see.

    Returns the conflict id. The application then disappears from their pages
    (a declaration that had been ruled minor is declared afresh and excluded again).
    """
    now = ensure_aware_utc(now)
    await visible_application(member, application_id)
    if kind not in {k.value for k in ConflictKind}:
        raise DomainError("Choose what kind of conflict it is.", field="kind")
    note = _text(note, "note", "The note", MAX_NOTE, required=False)
    existing = (
        await PanelConflict.select(PanelConflict.id)
        .where(
            (PanelConflict.member == member["id"]) & (PanelConflict.application == application_id)
        )
        .first()
    )
    values: dict[Any, Any] = {
        PanelConflict.kind: kind,
        PanelConflict.source: "declared",
        PanelConflict.note: note,
        PanelConflict.declared_at: now,
        PanelConflict.decision: ConflictDecision.excluded.value,
        PanelConflict.decision_reason: "",
        PanelConflict.decided_by: None,
        PanelConflict.decided_at: None,
    }
    if existing:
        conflict_id = existing["id"]
        await PanelConflict.update(values).where(PanelConflict.id == conflict_id)
    else:
        rows = await PanelConflict.insert(
            PanelConflict(
                member=member["id"],
                application=application_id,
                kind=kind,
                source="declared",
                note=note,
                declared_at=now,
            )
        ).returning(PanelConflict.id)
        conflict_id = rows[0]["id"]
    await record_event(
        await _actor_of_member(member),
        "panel.conflict_declared",
        "panel_conflict",
        conflict_id,
        now,
        round_id=member["round"],
        detail={"application_id": application_id, "kind": kind},
    )
    return conflict_id


async def round_conflicts(round_id: int, *, show_names: bool = False) -> list[dict[str, Any]]:
    """Every conflict of the round's live members, with the label the viewer may see.

    Applications from a member's declared organisations that have no row yet (the
    application arrived after the declaration) are listed too, as `inferred`.
    `show_names` (admins only) adds the applicant's name whatever the stage.
    """
    round_row = await panel_round(round_id)
    members = {
        m["id"]: m
        for m in await PanelMember.select(
            PanelMember.id,
            PanelMember.round,
            PanelMember.role,
            PanelMember.user.name.as_alias("name"),
        ).where((PanelMember.round == round_id) & PanelMember.removed_at.is_null())
    }
    if not members:
        return []
    rows = await PanelConflict.select(
        *PanelConflict.all_columns(),
        PanelConflict.decided_by.name.as_alias("decided_by_name"),
    ).where(PanelConflict.member.is_in(list(members)))
    for row in rows:
        row["inferred"] = False
    seen = {(r["member"], r["application"]) for r in rows}
    for member_id in members:
        for app_id in await organisation_matches(member_id, round_id):
            if (member_id, app_id) not in seen:
                rows.append(
                    {
                        "id": None,
                        "member": member_id,
                        "application": app_id,
                        "kind": ConflictKind.organisational.value,
                        "source": "organisation",
                        "note": "",
                        "declared_at": None,
                        "decision": ConflictDecision.excluded.value,
                        "decision_reason": "",
                        "decided_by_name": None,
                        "decided_at": None,
                        "inferred": True,
                    }
                )
    app_ids = list({r["application"] for r in rows})
    apps = {}
    if app_ids:
        apps = {
            a["id"]: a
            for a in await Application.select(
                Application.id,
                Application.panel_number,
                Application.status,
                Application.applicant.name.as_alias("applicant_name"),
            ).where(Application.id.is_in(app_ids))
        }
    revealed = await revealed_applications(round_row)
    out = []
    for row in rows:
        app = apps.get(row["application"], {"id": row["application"], "panel_number": None})
        member = members[row["member"]]
        row["member_name"] = member["name"]
        row["panel_number"] = app.get("panel_number")
        row["member_is_chair"] = member["role"] == PanelRole.chair.value
        row["label"] = application_label(app, revealed) if not show_names else panel_label(app)
        if row["source"] == "applicant" and not show_names and app["id"] not in revealed:
            # "Applicant 7 is member M" would unmask a member's own application.
            row["label"] = "Withheld while the sift is anonymised"
        row["applicant_name"] = app.get("applicant_name") if show_names else None
        row["kind_label"] = KIND_LABELS.get(row["kind"], row["kind"]).split(":")[0]
        row["source_label"] = SOURCE_LABELS.get(row["source"], row["source"])
        out.append(row)
    out.sort(key=lambda r: (r["member_name"].casefold(), r["label"]))
    return out


def conflict_counts(conflicts: list[dict[str, Any]]) -> dict[int, int]:
    """Member id -> how many applications are hidden from them (minor rulings excluded)."""
    counts: dict[int, int] = {}
    for c in conflicts:
        if c["decision"] != ConflictDecision.minor.value:
            counts[c["member"]] = counts.get(c["member"], 0) + 1
    return counts


async def conflict_for_ruling(
    round_id: int, member_id: int, application_id: int, *, show_names: bool = False
) -> dict[str, Any]:
    """One conflict of the round (declared or inferred), or NotFound."""
    ensure_record_id(member_id, NOT_FOUND)
    ensure_record_id(application_id, NOT_FOUND)
    for c in await round_conflicts(round_id, show_names=show_names):
        if c["member"] == member_id and c["application"] == application_id:
            return c
    raise NotFound(NOT_FOUND)


async def rule_minor(
    round_id: int,
    member_id: int,
    application_id: int,
    reason: str,
    actor: Actor,
    now: datetime,
    *,
    ruling_member_id: int | None = None,
) -> int:
    """The chair (or an admin) decides a conflict does not matter: the member sees and
    may score the application again. `ruling_member_id`: the chair's own membership,
    so a chair cannot clear their own conflict. Returns the conflict id."""
    now = ensure_aware_utc(now)
    conflict = await conflict_for_ruling(round_id, member_id, application_id)
    if ruling_member_id is not None and ruling_member_id == member_id:
        raise DomainError(
            "You cannot rule on your own conflict. Ask an admin to decide it.", field="reason"
        )
    if conflict["decision"] == ConflictDecision.minor.value:
        raise DomainError("This conflict has already been ruled minor.", field="reason")
    if conflict["source"] == "applicant":
        raise DomainError(
            "This is the member's own application: nobody may score their own application.",
            field="reason",
        )
    reason = _text(reason, "reason", "The reason", MAX_REASON, required=True)
    if not await Application.exists().where(
        (Application.id == application_id)
        & (Application.round == round_id)
        & Application.status.is_in(list(PANEL_STATUSES))
    ):
        raise NotFound(NOT_FOUND)
    values: dict[Any, Any] = {
        PanelConflict.decision: ConflictDecision.minor.value,
        PanelConflict.decision_reason: reason,
        PanelConflict.decided_by: actor.user_id,
        PanelConflict.decided_at: now,
    }
    if conflict["id"] is None:  # inferred from an organisation: record it now
        rows = await PanelConflict.insert(
            PanelConflict(
                member=member_id,
                application=application_id,
                kind=ConflictKind.organisational.value,
                source="organisation",
                note="From an organisation the member declared a connection to.",
                declared_at=now,
            )
        ).returning(PanelConflict.id)
        conflict_id = rows[0]["id"]
    else:
        conflict_id = conflict["id"]
    await PanelConflict.update(values).where(PanelConflict.id == conflict_id)
    await record_event(
        actor,
        "panel.conflict_ruled_minor",
        "panel_conflict",
        conflict_id,
        now,
        round_id=round_id,
        detail={
            "member_id": member_id,
            "application_id": application_id,
            "reason": reason,
            "by_chair": ruling_member_id is not None,
        },
    )
    return conflict_id


async def application_for_member(member: dict[str, Any], application_id: int) -> dict[str, Any]:
    """An application the member may see, with the label they may see (or NotFound)."""
    app = await visible_application(member, application_id)
    revealed = await revealed_applications(await panel_round(member["round"]))
    if application_id in revealed:
        row = (
            await Application.select(Application.applicant.name.as_alias("applicant_name"))
            .where(Application.id == application_id)
            .first()
        )
        app = {**app, "applicant_name": row["applicant_name"] if row else ""}
    return {**app, "label": application_label(app, revealed)}
