"""Accounts: password hashing, sign-in checks, invitations and API tokens.

Secrets that travel in links or headers (invitation links, API tokens) are random,
shown once, and stored only as SHA-256 hashes, so a copy of the database cannot be
used to sign in.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, NotFound
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.timerules import ensure_aware_utc
from portal.tables import ApiToken, Invitation, User

MIN_PASSWORD = 12
MAX_PASSWORD = 256
MAX_EMAIL = 254
MAX_NAME = 200
API_TOKEN_PREFIX = "sp_"  # noqa: S105 - a visible prefix, not a secret

_hasher = PasswordHasher()
# Verifying against this keeps a sign-in for an unknown email as slow as a real one.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class Role(enum.StrEnum):
    admin = "admin"
    applicant = "applicant"


class InvalidCredentials(DomainError):
    status_code = 400


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# One plain address: no display name, no comma-separated list, no angle brackets,
# so what reaches the To: header is exactly one mailbox.
_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > MAX_EMAIL:
        raise DomainError(f"Keep the email address under {MAX_EMAIL} characters.", field="email")
    if not _EMAIL.fullmatch(email):
        raise DomainError("Enter an email address like name@example.org.", field="email")
    return email


def ensure_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError("Enter a name.", field="name")
    if len(name) > MAX_NAME:
        raise DomainError(f"Keep the name under {MAX_NAME} characters.", field="name")
    return name


def ensure_password(password: str, confirm: str | None = None) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise DomainError(
            f"Choose a password of at least {MIN_PASSWORD} characters.", field="password"
        )
    if len(password) > MAX_PASSWORD:
        raise DomainError(f"Keep the password under {MAX_PASSWORD} characters.", field="password")
    if confirm is not None and confirm != password:
        raise DomainError("The two passwords do not match.", field="confirm")
    return password


async def authenticate(email: str, password: str, now: datetime) -> dict[str, Any]:
    """Return the active user for these credentials, or raise one message for every failure."""
    failure = InvalidCredentials("The email address or password is not right.")
    try:
        email = normalise_email(email)
    except DomainError:
        verify_password(None, password or "")
        raise failure from None
    user = await User.select().where(User.email == email).first()
    if not verify_password(user["password_hash"] if user else None, password or ""):
        raise failure
    if not user["is_active"]:
        raise failure
    await User.update({User.last_sign_in_at: ensure_aware_utc(now)}).where(User.id == user["id"])
    return user


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


async def create_api_token(user_id: int, name: str, actor: Actor, now: datetime) -> str:
    name = " ".join((name or "").split())[:100] or "API token"
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    rows = await ApiToken.insert(
        ApiToken(
            user=user_id,
            name=name,
            prefix=raw[:10],
            token_hash=hash_token(raw),
            created_at=ensure_aware_utc(now),
        )
    ).returning(ApiToken.id)
    await record_event(
        actor, "api_token.created", "api_token", rows[0]["id"], now, detail={"name": name}
    )
    return raw


async def revoke_api_token(token_id: int, actor: Actor, now: datetime) -> None:
    done = (
        await ApiToken.update({ApiToken.revoked_at: ensure_aware_utc(now)})
        .where((ApiToken.id == token_id) & ApiToken.revoked_at.is_null())
        .returning(ApiToken.id)
    )
    if not done:
        raise NotFound("There is no such active token.")
    await record_event(actor, "api_token.revoked", "api_token", token_id, now)


async def user_for_api_token(raw: str, now: datetime) -> dict[str, Any] | None:
    if not raw.startswith(API_TOKEN_PREFIX) or len(raw) > 100:
        return None
    row = (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.user.id.as_alias("user_id"),
            ApiToken.user.email.as_alias("email"),
            ApiToken.user.role.as_alias("role"),
            ApiToken.user.is_active.as_alias("is_active"),
        )
        .where((ApiToken.token_hash == hash_token(raw)) & ApiToken.revoked_at.is_null())
        .first()
    )
    if row is None or not row["is_active"]:
        return None
    await ApiToken.update({ApiToken.last_used_at: ensure_aware_utc(now)}).where(
        ApiToken.id == row["id"]
    )
    return row


MAX_TOKEN_NAME = 100


def ensure_token_name(name: str) -> str:
    """A label so the owner can tell tokens apart ("CI deploy", "Reporting script")."""
    name = " ".join((name or "").replace("\x00", "").split())
    if len(name) > MAX_TOKEN_NAME:
        raise DomainError(f"Keep the token name under {MAX_TOKEN_NAME} characters.", field="name")
    return name or "API token"


async def list_api_tokens(user_id: int) -> list[dict[str, Any]]:
    """One user's tokens, newest first. Never the secret: only its first characters."""
    return (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.prefix,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        )
        .where(ApiToken.user == user_id)
        .order_by(ApiToken.created_at, ascending=False)
        .order_by(ApiToken.id, ascending=False)
    )


async def revoke_own_api_token(user_id: int, token_id: int, actor: Actor, now: datetime) -> None:
    """Revoke one of the user's own active tokens; anyone else's is NotFound, not Forbidden,
    so token ids of other admins cannot be probed."""
    if not 0 < token_id <= 2**31 - 1 or not await ApiToken.exists().where(
        (ApiToken.id == token_id) & (ApiToken.user == user_id) & ApiToken.revoked_at.is_null()
    ):
        raise NotFound("There is no such active token of yours.")
    await revoke_api_token(token_id, actor, now)
