"""Admin accounts: creating one, inviting another admin by a single-use link, accepting
the invitation, and the list of admins.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.domain.accounts.credentials import (
    Role,
    ensure_name,
    ensure_password,
    hash_password,
    hash_token,
    normalise_email,
)
from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, NotFound
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Invitation, User


async def create_admin(email: str, name: str, password: str | None, now: datetime) -> int:
    email = normalise_email(email)
    name = ensure_name(name)
    if await User.exists().where(User.email == email):
        raise Conflict("There is already an account with that email address.", field="email")
    rows = await User.insert(
        User(
            email=email,
            name=name,
            password_hash=hash_password(ensure_password(password)) if password else None,
            role=Role.admin.value,
            created_at=ensure_aware_utc(now),
        )
    ).returning(User.id)
    return rows[0]["id"]


@dataclass(frozen=True)
class NewInvitation:
    """What a fresh invitation's mail needs; `token` exists only here and in the mail."""

    invitation_id: int
    user_id: int
    email: str
    name: str
    token: str
    expires_at: datetime
    invited_by: str


async def invite_admin(
    email: str,
    name: str,
    actor: Actor,
    now: datetime,
    valid_for: timedelta,
    compose: Callable[[NewInvitation], Mail],
) -> tuple[NewInvitation, int | None]:
    """Create (or reuse) an admin without a password, a single-use link, and its mail.

    Returns the invitation and the outbox id to dispatch after the caller commits.
    Re-inviting someone who has not set a password yet sends a new link and retires
    the older ones, so only the latest mail works. Someone with a password is refused.
    """
    email = normalise_email(email)
    name = ensure_name(name)
    now = ensure_aware_utc(now)
    user = await User.select().where(User.email == email).first()
    if user and user["password_hash"]:
        raise Conflict(
            f"{email} already has an account with a password, so they can sign in already. "
            "No invitation was sent.",
            field="email",
        )
    if user:
        user_id = user["id"]
        await User.update({User.role: Role.admin.value, User.name: name}).where(User.id == user_id)
        await Invitation.update({Invitation.expires_at: now}).where(
            (Invitation.user == user_id)
            & Invitation.used_at.is_null()
            & (Invitation.expires_at > now)
        )
    else:
        user_id = await create_admin(email, name, None, now)
    token = secrets.token_urlsafe(32)
    rows = await Invitation.insert(
        Invitation(
            user=user_id,
            token_hash=hash_token(token),
            invited_by=actor.user_id,
            created_at=now,
            expires_at=now + valid_for,
        )
    ).returning(Invitation.id)
    inviter = None
    if actor.user_id is not None:
        inviter = await User.select(User.name).where(User.id == actor.user_id).first()
    invitation = NewInvitation(
        invitation_id=rows[0]["id"],
        user_id=user_id,
        email=email,
        name=name,
        token=token,
        expires_at=now + valid_for,
        invited_by=inviter["name"] if inviter else actor.label,
    )
    message_id = await enqueue_mail(compose(invitation), now)
    await record_event(
        actor,
        "admin.invited",
        "user",
        user_id,
        now,
        detail={
            "email": email,
            "invitation_id": invitation.invitation_id,
            "reinvited": user is not None,
        },
    )
    return invitation, message_id


async def find_invitation(token: str, now: datetime) -> dict[str, Any]:
    invitation = None
    if token and len(token) <= 100:
        invitation = (
            await Invitation.select(
                Invitation.all_columns(),
                Invitation.user.email.as_alias("email"),
                Invitation.user.name.as_alias("name"),
            )
            .where(Invitation.token_hash == hash_token(token))
            .first()
        )
    if invitation is None or invitation["used_at"] is not None:
        raise NotFound(
            "This invitation link is not valid or has already been used. Ask an admin for a new one."
        )
    if ensure_aware_utc(invitation["expires_at"]) <= ensure_aware_utc(now):
        raise NotFound(
            "This invitation link has expired or was replaced by a newer one. Ask an admin for a new one."
        )
    return invitation


async def accept_invitation(token: str, password: str, confirm: str, now: datetime) -> int:
    """Set the password and spend the link; a second use of the same link fails.

    The link is checked before the password, so a dead link says so rather than
    asking for a better password first. Accepting signs the person in, hence the
    sign-in time.
    """
    invitation = await find_invitation(token, now)
    password = ensure_password(password, confirm)
    spent = (
        await Invitation.update({Invitation.used_at: ensure_aware_utc(now)})
        .where((Invitation.id == invitation["id"]) & Invitation.used_at.is_null())
        .returning(Invitation.id)
    )
    if not spent:
        raise NotFound("This invitation link has already been used. Ask an admin for a new one.")
    user_id = invitation["user"]
    await User.update(
        {
            User.password_hash: hash_password(password),
            User.is_active: True,
            User.last_sign_in_at: ensure_aware_utc(now),
        }
    ).where(User.id == user_id)
    await record_event(
        Actor(user_id, invitation["email"]), "admin.invitation_accepted", "user", user_id, now
    )
    return user_id


async def list_admins(now: datetime) -> list[dict[str, Any]]:
    """Admins by name, with whether they have a password and when their live link expires.

    The password hash itself never leaves this function.
    """
    users = (
        await User.select(
            User.id,
            User.name,
            User.email,
            User.password_hash,
            User.is_active,
            User.last_sign_in_at,
            User.created_at,
        )
        .where(User.role == Role.admin.value)
        .order_by(User.name)
    )
    waiting = [u["id"] for u in users if not u["password_hash"]]
    live: dict[int, datetime] = {}
    if waiting:
        for inv in await Invitation.select(Invitation.user, Invitation.expires_at).where(
            Invitation.user.is_in(waiting)
            & Invitation.used_at.is_null()
            & (Invitation.expires_at > ensure_aware_utc(now))
        ):
            live[inv["user"]] = max(live.get(inv["user"], inv["expires_at"]), inv["expires_at"])
    return [
        {
            "id": u["id"],
            "name": u["name"],
            "email": u["email"],
            "is_active": u["is_active"],
            "has_password": bool(u["password_hash"]),
            "last_sign_in_at": u["last_sign_in_at"],
            "invitation_expires_at": live.get(u["id"]),
        }
        for u in users
    ]
