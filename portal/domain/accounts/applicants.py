"""Applicant accounts: registration, the password sign-in check and the profile.

Registering an address that already has an account mails its owner instead, so
nothing here tells a stranger whether an address is registered.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.accounts.credentials import (
    InvalidCredentials,
    Role,
    ensure_name,
    normalise_email,
    verify_password,
)
from portal.domain.accounts.links import (
    MAX_MAILS_PER_HOUR,
    AccountMessage,
    Compose,
    TokenPurpose,
    email_or_none,
    issue_link,
    mails_sent_recently,
)
from portal.domain.audit import Actor, record_event
from portal.domain.errors import DomainError, NotFound, ValidationErrors
from portal.domain.outbox.messages import enqueue_mail
from portal.domain.timerules import ensure_aware_utc
from portal.tables import User

MAX_ORGANISATION = 200


MAX_JOB_TITLE = 200


MAX_PHONE = 40


MAX_ADJUSTMENTS = 5000


_PHONE_CHARS = frozenset("0123456789+()-. ")


def _ensure_no_controls(value: str, field: str, label: str, *, multiline: bool = False) -> str:
    """Refuse NUL and other control characters: PostgreSQL cannot store NUL, and the
    rest only ever arrive by accident or to spoof what an admin reads."""
    allowed = {"\n", "\r", "\t"} if multiline else {"\t"}
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        raise DomainError(
            f"{label} contains a character that cannot be used. Remove it and try again.",
            field=field,
        )
    return value


def _single_line(value: str, field: str, label: str, limit: int) -> str:
    value = " ".join(_ensure_no_controls(value or "", field, label).split())
    if len(value) > limit:
        raise DomainError(f"Keep {label.lower()} under {limit} characters.", field=field)
    return value


def ensure_applicant_name(name: str) -> str:
    return ensure_name(_ensure_no_controls(name or "", "name", "Your name"))


def ensure_phone(phone: str) -> str:
    phone = _single_line(phone, "phone", "The phone number", MAX_PHONE)
    if phone and (not set(phone) <= _PHONE_CHARS or sum(ch.isdigit() for ch in phone) < 6):
        raise DomainError(
            "Enter a phone number using digits, spaces and + ( ) - only, like 020 7946 0000.",
            field="phone",
        )
    return phone


def ensure_adjustments(text: str) -> str:
    text = _ensure_no_controls(text or "", "adjustments", "The adjustments request", multiline=True)
    text = text.replace("\r\n", "\n").strip()
    if len(text) > MAX_ADJUSTMENTS:
        raise DomainError(
            f"Keep the adjustments request under {MAX_ADJUSTMENTS} characters.", field="adjustments"
        )
    return text


async def register_applicant(name: str, email: str, now: datetime, compose: Compose) -> int | None:
    """Register, or (for an address that has an account) tell its owner instead.

    A new or still unconfirmed applicant gets a confirmation link; anyone else with
    the address gets an "you already have an account" mail. The caller shows the same
    page either way.
    """
    now = ensure_aware_utc(now)
    name = ensure_applicant_name(name)
    email = normalise_email(email)
    user = (
        await User.select(
            User.id, User.email, User.name, User.role, User.is_active, User.email_verified_at
        )
        .where(User.email == email)
        .first()
    )
    if user is None:
        rows = await User.insert(
            User(
                email=email,
                name=name,
                role=Role.applicant.value,
                password_hash=None,
                created_at=now,
            )
        ).returning(User.id)
        user = {"id": rows[0]["id"], "email": email, "name": name}
        await record_event(
            Actor(user["id"], email), "applicant.registered", "user", user["id"], now
        )
        return await issue_link(user, TokenPurpose.verify, now, compose)
    if (
        user["role"] == Role.applicant.value
        and user["is_active"]
        and user["email_verified_at"] is None
    ):
        # Never confirmed: the address's owner may have lost the first mail. The name
        # stays as first registered: whoever typed it this time has proved nothing yet.
        return await issue_link(user, TokenPurpose.verify, now, compose)
    kind = "already_registered"
    if await mails_sent_recently(kind, email, now) >= MAX_MAILS_PER_HOUR:
        return None
    message = AccountMessage(
        kind=kind,
        user_id=user["id"],
        email=email,
        name=user["name"],
        key=f"{kind}:{user['id']}:{secrets.token_hex(8)}",
    )
    return await enqueue_mail(compose(message), now)


async def authenticate_applicant(email: str, password: str, now: datetime) -> dict[str, Any]:
    """The applicant with these credentials, or one message for every failure (admins
    included: they sign in on the admin page)."""
    failure = InvalidCredentials("The email address or password is not right.")
    address = email_or_none(email)
    user = None
    if address is not None:
        user = (
            await User.select(User.id, User.password_hash, User.role, User.is_active)
            .where(User.email == address)
            .first()
        )
    if not verify_password(user["password_hash"] if user else None, password or ""):
        raise failure
    if not user["is_active"] or user["role"] != Role.applicant.value:
        raise failure
    await User.update({User.last_sign_in_at: ensure_aware_utc(now)}).where(User.id == user["id"])
    return {"id": user["id"]}


PROFILE_FIELDS = ("name", "organisation", "job_title", "phone", "adjustments")


@dataclass(frozen=True)
class ProfileChange:
    name: str = ""
    organisation: str = ""
    job_title: str = ""
    phone: str = ""
    adjustments: str = ""


async def applicant_profile(user_id: int) -> dict[str, Any]:
    """The applicant's own profile, adjustments included (it is their own request)."""
    row = (
        await User.select(
            User.id,
            User.email,
            User.name,
            User.organisation,
            User.job_title,
            User.phone,
            User.adjustments,
            User.email_verified_at,
            User.password_hash,
        )
        .where((User.id == user_id) & (User.role == Role.applicant.value))
        .first()
    )
    if row is None:
        raise NotFound("There is no such applicant.")
    row["has_password"] = bool(row.pop("password_hash"))
    return row


def _validated(change: ProfileChange) -> dict[str, str]:
    """Every field checked, every problem reported at once (a form shows them together)."""
    checks: dict[str, Callable[[], str]] = {
        "name": lambda: ensure_applicant_name(change.name),
        "organisation": lambda: _single_line(
            change.organisation, "organisation", "The organisation", MAX_ORGANISATION
        ),
        "job_title": lambda: _single_line(change.job_title, "job_title", "The role", MAX_JOB_TITLE),
        "phone": lambda: ensure_phone(change.phone),
        "adjustments": lambda: ensure_adjustments(change.adjustments),
    }
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field, check in checks.items():
        try:
            values[field] = check()
        except DomainError as exc:
            errors[exc.field or field] = exc.message
    if errors:
        raise ValidationErrors(errors=errors)
    return values


async def update_profile(user_id: int, change: ProfileChange, now: datetime) -> list[str]:
    """Save the profile; returns the names of the fields that changed.

    The audit event lists changed field names only, never their values: the
    adjustments request must not surface in a log that others read.
    """
    now = ensure_aware_utc(now)
    values = _validated(change)
    current = await applicant_profile(user_id)
    changed = [f for f in PROFILE_FIELDS if current[f] != values[f]]
    if changed:
        await User.update({getattr(User, f): values[f] for f in changed}).where(User.id == user_id)
        await record_event(
            Actor(user_id, current["email"]),
            "applicant.profile_updated",
            "user",
            user_id,
            now,
            detail={"fields": changed},
        )
    return changed
