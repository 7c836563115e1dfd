"""Panel membership: invitations, the chair, removal, and a member's declarations.

An invitation is a random token mailed once; only its SHA-256 is kept in
`PanelMember.token_hash`, with an expiry. An address that already has an account
reuses it (one person, one account); a new address gets an applicant account that
the invitee verifies by accepting and choosing a password. A round has at most one
chair: making someone chair makes the previous chair an ordinary member.

Before a member sees any application they confirm confidentiality and declare the
organisations they are connected to; conflicts with applications from those
organisations, and with their own application in the round, become PanelConflict
rows the chair can see. The rules of who sees what live in `panel_access`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.domain.accounts import (
    Role,
    ensure_password,
    hash_password,
    hash_token,
    normalise_email,
)
from portal.domain.applicants import ensure_applicant_name
from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, NotFound, ensure_record_id
from portal.domain.outbox import Mail, enqueue_mail
from portal.domain.panel_access import (
    PANEL_STATUSES,
    ConflictKind,
    PanelRole,
    is_ready,
    normalise_organisation,
)
from portal.domain.timerules import ensure_aware_utc
from portal.tables import (
    Application,
    PanelConflict,
    PanelMember,
    PanelOrganisation,
    Round,
    User,
)

MAX_ORGANISATIONS = 20
MAX_ORGANISATION_NAME = 200
MAX_TOKEN = 100  # our tokens are 43 characters
ARCHIVED = "archived"

NO_SUCH_MEMBER = "There is no such panel member on this round."

# The undertaking a member ticks before seeing any application (shown on the page).
CONFIDENTIALITY_UNDERTAKING = (
    "I will keep every application, score and panel discussion confidential. I will not "
    "copy, share or discuss them with anyone outside this panel, I will not try to find out "
    "who an anonymised applicant is, and I will tell the chair at once if I find I have a "
    "conflict of interest with any applicant."
)


class LinkGone(DomainError):
    """An invitation link that once worked: expired, used, or withdrawn."""

    status_code = 410


@dataclass(frozen=True)
class PanelInvitation:
    """What one invitation mail needs; `token` exists only here and in the mail."""

    member_id: int
    round_id: int
    user_id: int
    email: str
    name: str
    token: str
    token_hash: str
    expires_at: datetime
    invited_by: str
    seat_title: str
    role: str
    existing_account: bool  # the address already had an account with a password


Compose = Callable[[PanelInvitation], Mail]


# ---- Rounds and members (admin) ----------------------------------------------------


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


def _ensure_not_archived(round_row: dict[str, Any]) -> None:
    if round_row["stage"] == ARCHIVED:
        raise Conflict("This round is archived, so its panel can no longer change.")


async def _member_of_round(round_id: int, member_id: int) -> dict[str, Any]:
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


async def _make_chair(
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


async def _inviter_name(actor: Actor) -> str:
    if actor.user_id is None:
        return actor.label
    row = await User.select(User.name).where(User.id == actor.user_id).first()
    return row["name"] if row else actor.label


async def _issue_token(
    member: dict[str, Any],
    round_row: dict[str, Any],
    actor: Actor,
    now: datetime,
    valid_for: timedelta,
    compose: Compose,
) -> int | None:
    """A new link for the member (the old one stops working) and its mail."""
    token = secrets.token_urlsafe(32)
    token_hash = hash_token(token)
    expires_at = now + valid_for
    await PanelMember.update(
        {PanelMember.token_hash: token_hash, PanelMember.token_expires_at: expires_at}
    ).where(PanelMember.id == member["id"])
    user = await User.select(User.password_hash).where(User.id == member["user"]).first()
    invitation = PanelInvitation(
        member_id=member["id"],
        round_id=round_row["id"],
        user_id=member["user"],
        email=member["email"],
        name=member["name"],
        token=token,
        token_hash=token_hash,
        expires_at=expires_at,
        invited_by=await _inviter_name(actor),
        seat_title=round_row["seat_title"],
        role=member["role"],
        existing_account=bool(user and user["password_hash"]),
    )
    return await enqueue_mail(compose(invitation), now)


async def invite_member(
    round_id: int,
    email: str,
    name: str,
    chair: bool,
    actor: Actor,
    now: datetime,
    valid_for: timedelta,
    compose: Compose,
) -> tuple[int, int | None]:
    """Invite someone to the round's panel; returns (member id, outbox id to dispatch).

    An address with an account reuses it (its name is left as its owner set it). A
    person removed earlier is invited afresh on the same row; someone already on the
    panel is refused: resend their invitation instead.
    """
    now = ensure_aware_utc(now)
    round_row = await round_for_panel(round_id)
    _ensure_not_archived(round_row)
    email = normalise_email(email)
    name = ensure_applicant_name(name)
    user = await User.select(User.id, User.name, User.is_active).where(User.email == email).first()
    if user and not user["is_active"]:
        raise Conflict(
            f"The account for {email} is deactivated, so it cannot join a panel.", field="email"
        )
    if user is None:
        rows = await User.insert(
            User(email=email, name=name, role=Role.applicant.value, created_at=now)
        ).returning(User.id)
        user = {"id": rows[0]["id"], "name": name}
    existing = (
        await PanelMember.select()
        .where((PanelMember.round == round_id) & (PanelMember.user == user["id"]))
        .first()
    )
    if existing and existing["removed_at"] is None:
        raise Conflict(
            f"{email} is already on this panel. No second invitation was made; "
            "use “Resend invitation” to send them a new link.",
            field="email",
        )
    if existing:  # removed earlier: a fresh start on the same row
        member_id = existing["id"]
        await PanelMember.update(
            {
                PanelMember.role: PanelRole.member.value,
                PanelMember.invited_by: actor.user_id,
                PanelMember.invited_at: now,
                PanelMember.accepted_at: None,
                PanelMember.confidentiality_at: None,
                PanelMember.declarations_at: None,
                PanelMember.removed_at: None,
            }
        ).where(PanelMember.id == member_id)
    else:
        rows = await PanelMember.insert(
            PanelMember(
                round=round_id,
                user=user["id"],
                role=PanelRole.member.value,
                invited_by=actor.user_id,
                invited_at=now,
            )
        ).returning(PanelMember.id)
        member_id = rows[0]["id"]
    if chair:
        await _make_chair(round_id, member_id, actor, now, user["name"])
    member = await _member_of_round(round_id, member_id)
    message_id = await _issue_token(member, round_row, actor, now, valid_for, compose)
    await record_event(
        actor,
        "panel.invited",
        "panel_member",
        member_id,
        now,
        round_id=round_id,
        detail={"email": email, "role": member["role"], "reinvited": existing is not None},
    )
    return member_id, message_id


async def resend_invitation(
    round_id: int,
    member_id: int,
    actor: Actor,
    now: datetime,
    valid_for: timedelta,
    compose: Compose,
) -> int | None:
    """A new link (the previous one stops working) for someone who has not accepted yet."""
    now = ensure_aware_utc(now)
    round_row = await round_for_panel(round_id)
    _ensure_not_archived(round_row)
    member = await _member_of_round(round_id, member_id)
    if member["accepted_at"] is not None:
        raise Conflict(f"{member['name']} has already accepted, so no new link was sent.")
    message_id = await _issue_token(member, round_row, actor, now, valid_for, compose)
    await record_event(
        actor,
        "panel.invitation_resent",
        "panel_member",
        member_id,
        now,
        round_id=round_id,
        detail={"email": member["email"]},
    )
    return message_id


async def remove_member(round_id: int, member_id: int, actor: Actor, now: datetime) -> str:
    """Take someone off the panel: their link stops working and every panel page is a 404.

    Their scores and declarations stay (the record of what happened); a removed chair
    leaves the round without a chair until an admin names one. Returns their name.
    """
    now = ensure_aware_utc(now)
    round_row = await round_for_panel(round_id)
    _ensure_not_archived(round_row)
    member = await _member_of_round(round_id, member_id)
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
    _ensure_not_archived(round_row)
    member = await _member_of_round(round_id, member_id)
    await _make_chair(round_id, member_id, actor, now, member["name"])
    return member["name"]


async def member_for_admin(round_id: int, member_id: int) -> dict[str, Any]:
    await round_for_panel(round_id)
    return await _member_of_round(round_id, member_id)


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


# ---- Accepting an invitation (public: the link is the credential) -----------------


_UNKNOWN_LINK = (
    "This invitation link is not valid. It may have been mistyped, or replaced by a newer "
    "invitation: use the link in the most recent email, or ask the admin who invited you."
)


async def find_invitation(token: str, now: datetime) -> dict[str, Any]:
    """The live invitation for this token, with the account and round, or a clear refusal:
    NotFound for a link that never existed (or was replaced), LinkGone for one that
    expired, was used, or whose place on the panel was withdrawn."""
    row = None
    if token and len(token) <= MAX_TOKEN:
        row = (
            await PanelMember.select(
                *PanelMember.all_columns(),
                PanelMember.user.email.as_alias("email"),
                PanelMember.user.name.as_alias("name"),
                PanelMember.user.password_hash.as_alias("password_hash"),
                PanelMember.user.is_active.as_alias("is_active"),
                PanelMember.round.stage.as_alias("stage"),
                PanelMember.round.seat.title.as_alias("seat_title"),  # type: ignore[union-attr]
            )
            .where(PanelMember.token_hash == hash_token(token))
            .first()
        )
    if row is None:
        raise NotFound(_UNKNOWN_LINK)
    if row["accepted_at"] is not None:
        raise LinkGone("This invitation has already been accepted. Sign in to reach the panel.")
    if row["removed_at"] is not None or row["stage"] == ARCHIVED or not row["is_active"]:
        raise LinkGone("This invitation was withdrawn. Ask the admin who invited you.")
    expires = row["token_expires_at"]
    if expires is None or ensure_aware_utc(expires) <= ensure_aware_utc(now):
        raise LinkGone(
            "This invitation link has expired. Ask the admin who invited you to send a new one."
        )
    row["has_password"] = bool(row.pop("password_hash"))
    return row


async def accept_invitation(
    token: str,
    password: str,
    confirm: str,
    signed_in_user_id: int | None,
    now: datetime,
) -> tuple[int, int]:
    """Accept: returns (user id, round id); the caller signs the person in.

    A new account chooses its password here (accepting proves the address, so it is
    verified). An account that already has a password must be signed in as itself:
    the link alone never signs anyone into an account it did not create.
    """
    now = ensure_aware_utc(now)
    invitation = await find_invitation(token, now)
    user_id = invitation["user"]
    if invitation["has_password"]:
        if signed_in_user_id != user_id:
            raise DomainError(
                f"Sign in as {invitation['email']} first, then accept the invitation.",
                field="form",
            )
        changes: dict[Any, Any] = {User.last_sign_in_at: now}
    else:
        changes = {
            User.password_hash: hash_password(ensure_password(password, confirm)),
            User.email_verified_at: now,
            User.last_sign_in_at: now,
        }
    spent = (
        await PanelMember.update({PanelMember.accepted_at: now})
        .where((PanelMember.id == invitation["id"]) & PanelMember.accepted_at.is_null())
        .returning(PanelMember.id)
    )
    if not spent:
        raise LinkGone("This invitation has already been accepted. Sign in to reach the panel.")
    await User.update(changes).where(User.id == user_id)
    await record_event(
        Actor(user_id, invitation["email"]),
        "panel.invitation_accepted",
        "panel_member",
        invitation["id"],
        now,
        round_id=invitation["round"],
    )
    return user_id, invitation["round"]


# ---- The member's own pages ----------------------------------------------------------


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
