"""Accounts: password hashing, sign-in checks, invitations and API tokens.

Secrets that travel in links or headers (invitation links, API tokens) are random,
shown once, and stored only as SHA-256 hashes, so a copy of the database cannot be
used to sign in.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, NotFound
from portal.domain.timerules import ensure_aware_utc
from portal.tables import ApiToken, Invitation, User

MIN_PASSWORD = 12
MAX_PASSWORD = 256
MAX_EMAIL = 254
MAX_NAME = 200
API_TOKEN_PREFIX = "sp_"

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


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > MAX_EMAIL or any(c.isspace() for c in email):
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
        raise DomainError(f"Choose a password of at least {MIN_PASSWORD} characters.", field="password")
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


async def invite_admin(email: str, name: str, actor: Actor, now: datetime, valid_for: timedelta) -> tuple[int, str]:
    """Create (or reuse) an admin without a password and a single-use link token.

    Returns (user id, raw token); only the token's hash is stored.
    """
    email = normalise_email(email)
    name = ensure_name(name)
    user = await User.select().where(User.email == email).first()
    if user and user["password_hash"]:
        raise Conflict("That person already has an account.", field="email")
    if user:
        user_id = user["id"]
        await User.update({User.role: Role.admin.value, User.name: name}).where(User.id == user_id)
    else:
        user_id = await create_admin(email, name, None, now)
    token = secrets.token_urlsafe(32)
    await Invitation.insert(
        Invitation(
            user=user_id,
            token_hash=hash_token(token),
            invited_by=actor.user_id,
            created_at=ensure_aware_utc(now),
            expires_at=ensure_aware_utc(now) + valid_for,
        )
    )
    await record_event(actor, "admin.invited", "user", user_id, now, detail={"email": email})
    return user_id, token


async def find_invitation(token: str, now: datetime) -> dict[str, Any]:
    invitation = await Invitation.select(
        Invitation.all_columns(), Invitation.user.email.as_alias("email"), Invitation.user.name.as_alias("name")
    ).where(Invitation.token_hash == hash_token(token or "")).first()
    if invitation is None or invitation["used_at"] is not None:
        raise NotFound("This invitation link is not valid or has already been used. Ask an admin for a new one.")
    if ensure_aware_utc(invitation["expires_at"]) <= ensure_aware_utc(now):
        raise NotFound("This invitation link has expired. Ask an admin for a new one.")
    return invitation


async def accept_invitation(token: str, password: str, confirm: str, now: datetime) -> int:
    """Set the password and spend the link; a second use of the same link fails."""
    password = ensure_password(password, confirm)
    invitation = await find_invitation(token, now)
    spent = await Invitation.update({Invitation.used_at: ensure_aware_utc(now)}).where(
        (Invitation.id == invitation["id"]) & Invitation.used_at.is_null()
    ).returning(Invitation.id)
    if not spent:
        raise NotFound("This invitation link has already been used.")
    user_id = invitation["user"]
    await User.update({User.password_hash: hash_password(password), User.is_active: True}).where(User.id == user_id)
    await record_event(Actor(user_id, invitation["email"]), "admin.invitation_accepted", "user", user_id, now)
    return user_id


async def create_api_token(user_id: int, name: str, actor: Actor, now: datetime) -> str:
    name = " ".join((name or "").split())[:100] or "API token"
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    rows = await ApiToken.insert(
        ApiToken(user=user_id, name=name, prefix=raw[:10], token_hash=hash_token(raw), created_at=ensure_aware_utc(now))
    ).returning(ApiToken.id)
    await record_event(actor, "api_token.created", "api_token", rows[0]["id"], now, detail={"name": name})
    return raw


async def revoke_api_token(token_id: int, actor: Actor, now: datetime) -> None:
    done = await ApiToken.update({ApiToken.revoked_at: ensure_aware_utc(now)}).where(
        (ApiToken.id == token_id) & ApiToken.revoked_at.is_null()
    ).returning(ApiToken.id)
    if not done:
        raise NotFound("There is no such active token.")
    await record_event(actor, "api_token.revoked", "api_token", token_id, now)


async def user_for_api_token(raw: str, now: datetime) -> dict[str, Any] | None:
    if not raw.startswith(API_TOKEN_PREFIX) or len(raw) > 100:
        return None
    row = await ApiToken.select(
        ApiToken.id, ApiToken.user.id.as_alias("user_id"), ApiToken.user.email.as_alias("email"),
        ApiToken.user.role.as_alias("role"), ApiToken.user.is_active.as_alias("is_active"),
    ).where((ApiToken.token_hash == hash_token(raw)) & ApiToken.revoked_at.is_null()).first()
    if row is None or not row["is_active"]:
        return None
    await ApiToken.update({ApiToken.last_used_at: ensure_aware_utc(now)}).where(ApiToken.id == row["id"])
    return row
