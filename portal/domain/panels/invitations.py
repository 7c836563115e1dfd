"""Panel invitations: inviting someone to a round's panel, resending the link, and
accepting it.

An invitation is a random token mailed once; only its SHA-256 is kept in
`PanelMember.token_hash`, with an expiry. An address that already has an account
reuses it (one person, one account); a new address gets an applicant account that
the invitee verifies by accepting and choosing a password.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.domain.accounts.applicants import ensure_applicant_name
from portal.domain.accounts.credentials import (
    Role,
    ensure_password,
    hash_password,
    hash_token,
    normalise_email,
)
from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, NotFound
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.panels.access import PanelRole
from portal.domain.panels.roster import (
    ARCHIVED,
    appoint_chair,
    ensure_not_archived,
    member_of_round,
    round_for_panel,
)
from portal.domain.timerules import ensure_aware_utc
from portal.tables import PanelMember, User

MAX_TOKEN = 100  # our tokens are 43 characters


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
    ensure_not_archived(round_row)
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
        await appoint_chair(round_id, member_id, actor, now, user["name"])
    member = await member_of_round(round_id, member_id)
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
    ensure_not_archived(round_row)
    member = await member_of_round(round_id, member_id)
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
