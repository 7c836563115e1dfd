"""Credentials: emails, names and passwords as people type them, password hashing, token
hashes, and the admin's sign-in check.

Secrets that travel in links or headers are random, shown once, and stored only as
SHA-256 hashes, so a copy of the database cannot be used to sign in.
"""

from __future__ import annotations

import enum
import hashlib
import re
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal.domain.errors import DomainError
from portal.domain.timerules import ensure_aware_utc
from portal.tables import User

MIN_PASSWORD = 12


MAX_PASSWORD = 256


MAX_EMAIL = 254


MAX_NAME = 200


# argon2-cffi's defaults (RFC 9106, low-memory profile): about 0.15 s a hash here.
_PRODUCTION_HASHER = PasswordHasher()
# Test mode only: the smallest cost argon2 allows, so a suite that signs in hundreds of
# times does not spend minutes hashing. A hash carries its own parameters, so each
# hasher verifies what the other made.
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_DECOY_INPUT = "not a real password, only for timing"

_hasher = _PRODUCTION_HASHER
# Verifying against this keeps a sign-in for an unknown email as slow as a real one.
_DUMMY_HASH = _hasher.hash(_DECOY_INPUT)


def use_cheap_hashing(cheap: bool = True) -> None:
    """Hash new passwords at the lowest cost (True) or the production cost (False).

    Only for PORTAL_ENV=test: the app factory, the CLI and the test suite call it; the
    domain itself reads no settings."""
    global _hasher, _DUMMY_HASH
    wanted = _CHEAP_HASHER if cheap else _PRODUCTION_HASHER
    if wanted is not _hasher:
        _hasher = wanted
        _DUMMY_HASH = _hasher.hash(_DECOY_INPUT)


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
