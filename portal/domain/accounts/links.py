"""Email links for applicants: confirm the address, sign in without a password, reset
the password.

Every link is a random token shown once (in its mail) and stored only as a SHA-256
hash, single-use and expiring. A sign-in link is also bound to the browser that
asked for it: that browser keeps a random nonce, the row keeps its hash, and the
link works only together with it, so a forwarded link signs nobody else in.

Nothing here says whether an email address has an account: requests for unknown
addresses succeed quietly. Functions return the outbox id to dispatch after the
caller commits (None when no mail was written).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.domain.accounts.credentials import (
    Role,
    ensure_password,
    hash_password,
    hash_token,
    normalise_email,
)
from portal.domain.audit import Actor, record_event
from portal.domain.errors import DomainError, Forbidden, NotFound
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.timerules import ensure_aware_utc
from portal.tables import AccountToken, OutboxMessage, User

VERIFY_VALID = timedelta(hours=24)


SIGN_IN_LINK_VALID = timedelta(minutes=15)


RESET_VALID = timedelta(hours=1)


# Per address and kind of mail: the web rate limit counts per client address, this
# stops many addresses (or a botnet) from flooding one person's inbox.
MAX_MAILS_PER_HOUR = 5


MAX_TOKEN = 100  # our tokens are 43 characters; anything far longer is not one


def next_signature(secret_key: str, path: str) -> str:
    """The signature a mailed link's `next` carries: only a destination the portal put
    in the link is followed after confirming or signing in (the path itself must still
    be a local one; see `portal.web.account.destinations`)."""
    digest = hmac.new(secret_key.encode(), b"next\x00" + path.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def is_signed_next(secret_key: str, path: str, signature: str) -> bool:
    return bool(path) and hmac.compare_digest(next_signature(secret_key, path), signature or "")


class TokenPurpose(enum.StrEnum):
    verify = "verify"
    sign_in = "sign_in"
    reset = "reset"


_VALID_FOR = {
    TokenPurpose.verify: VERIFY_VALID,
    TokenPurpose.sign_in: SIGN_IN_LINK_VALID,
    TokenPurpose.reset: RESET_VALID,
}


# What a dead link says, per purpose; the page offers the way to a fresh one.
_DEAD_LINK = {
    TokenPurpose.verify: "This confirmation link is not valid, has expired or has already been used.",
    TokenPurpose.sign_in: "This sign-in link is not valid, has expired or has already been used.",
    TokenPurpose.reset: "This password reset link is not valid, has expired or has already been used.",
}


class WrongBrowser(Forbidden):
    """A sign-in link opened in a browser other than the one that asked for it."""


@dataclass(frozen=True)
class AccountMessage:
    """What one account mail needs. `token` exists only here and in the mail itself."""

    kind: str  # verify / sign_in / reset / already_registered
    user_id: int
    email: str
    name: str
    key: str  # unique per mail: the dedupe key's tail
    token: str | None = None
    expires_at: datetime | None = None


Compose = Callable[[AccountMessage], Mail]


def email_or_none(email: str) -> str | None:
    """A usable address, or None: for requests that must not say which addresses exist."""
    try:
        return normalise_email(email)
    except DomainError:
        return None


async def mails_sent_recently(kind: str, email: str, now: datetime) -> int:
    return await OutboxMessage.count().where(
        (OutboxMessage.kind == kind)
        & (OutboxMessage.recipient == email)
        & (OutboxMessage.created_at > now - timedelta(hours=1))
    )


async def issue_link(
    user: dict[str, Any],
    purpose: TokenPurpose,
    now: datetime,
    compose: Compose,
    *,
    nonce: str | None = None,
    retire_older: bool = True,
) -> int | None:
    """A new link and its mail, unless this person had enough of these mails this hour."""
    kind = purpose.value
    if await mails_sent_recently(kind, user["email"], now) >= MAX_MAILS_PER_HOUR:
        return None
    if retire_older:  # only the newest mail's link works, so a stale mail cannot be used
        await AccountToken.update({AccountToken.expires_at: now}).where(
            (AccountToken.user == user["id"])
            & (AccountToken.purpose == kind)
            & AccountToken.used_at.is_null()
            & (AccountToken.expires_at > now)
        )
    token = secrets.token_urlsafe(32)
    expires_at = now + _VALID_FOR[purpose]
    rows = await AccountToken.insert(
        AccountToken(
            user=user["id"],
            purpose=kind,
            token_hash=hash_token(token),
            nonce_hash=hash_token(nonce) if nonce else None,
            created_at=now,
            expires_at=expires_at,
        )
    ).returning(AccountToken.id)
    message = AccountMessage(
        kind=kind,
        user_id=user["id"],
        email=user["email"],
        name=user["name"],
        key=f"{kind}:{rows[0]['id']}",
        token=token,
        expires_at=expires_at,
    )
    return await enqueue_mail(compose(message), now)


async def find_account_token(token: str, purpose: TokenPurpose, now: datetime) -> dict[str, Any]:
    """The live token row with its user's email and name, or NotFound with a plain message."""
    row = None
    if token and len(token) <= MAX_TOKEN:
        row = (
            await AccountToken.select(
                AccountToken.all_columns(),
                AccountToken.user.email.as_alias("email"),
                AccountToken.user.name.as_alias("name"),
                AccountToken.user.role.as_alias("role"),
                AccountToken.user.is_active.as_alias("is_active"),
            )
            .where(
                (AccountToken.token_hash == hash_token(token))
                & (AccountToken.purpose == purpose.value)
            )
            .first()
        )
    if (
        row is None
        or row["used_at"] is not None
        or ensure_aware_utc(row["expires_at"]) <= ensure_aware_utc(now)
        or not row["is_active"]
        or row["role"] != Role.applicant.value
    ):
        raise NotFound(_DEAD_LINK[purpose])
    return row


def ensure_same_browser(row: dict[str, Any], nonce: str | None) -> None:
    """A sign-in link works only with the nonce of the browser that asked for it."""
    expected = row.get("nonce_hash")
    if expected and not (
        nonce and len(nonce) <= MAX_TOKEN and secrets.compare_digest(hash_token(nonce), expected)
    ):
        raise WrongBrowser(
            "This sign-in link only works in the browser where it was requested. "
            "Ask for a new link in the browser you want to use."
        )


async def _spend(row: dict[str, Any], purpose: TokenPurpose, now: datetime) -> None:
    spent = (
        await AccountToken.update({AccountToken.used_at: now})
        .where((AccountToken.id == row["id"]) & AccountToken.used_at.is_null())
        .returning(AccountToken.id)
    )
    if not spent:  # a double click, or two tabs: the other request used it first
        raise NotFound(_DEAD_LINK[purpose])


async def _retire(user_id: int, purposes: tuple[TokenPurpose, ...], now: datetime) -> None:
    await AccountToken.update({AccountToken.expires_at: now}).where(
        (AccountToken.user == user_id)
        & AccountToken.purpose.is_in([p.value for p in purposes])
        & AccountToken.used_at.is_null()
        & (AccountToken.expires_at > now)
    )


async def _signed_in(
    user_id: int, now: datetime, *, verified: bool = True, password: str | None = None
) -> None:
    """Stamp the sign-in; a link from the mailbox also proves the address."""
    values: dict[Any, Any] = {User.last_sign_in_at: now}
    if password is not None:
        values[User.password_hash] = hash_password(password)
    await User.update(values).where(User.id == user_id)
    if verified:
        await User.update({User.email_verified_at: now}).where(
            (User.id == user_id) & User.email_verified_at.is_null()
        )


async def _applicant_by_email(email: str) -> dict[str, Any] | None:
    address = email_or_none(email)
    if address is None:
        return None
    return (
        await User.select(User.id, User.email, User.name)
        .where(
            (User.email == address) & (User.role == Role.applicant.value) & (User.is_active == True)  # noqa: E712
        )
        .first()
    )


async def request_sign_in_link(
    email: str, nonce: str, now: datetime, compose: Compose
) -> int | None:
    """Mail a 15-minute sign-in link bound to `nonce`; nothing for unknown addresses.

    Earlier live links stay usable (mail can arrive out of order); using any one of
    them retires the rest.
    """
    now = ensure_aware_utc(now)
    user = await _applicant_by_email(email)
    if user is None:
        return None
    return await issue_link(
        user, TokenPurpose.sign_in, now, compose, nonce=nonce, retire_older=False
    )


async def request_password_reset(email: str, now: datetime, compose: Compose) -> int | None:
    """Mail a one-hour reset link (only the newest works); nothing for unknown addresses."""
    now = ensure_aware_utc(now)
    user = await _applicant_by_email(email)
    if user is None:
        return None
    return await issue_link(user, TokenPurpose.reset, now, compose)


async def verify_email(token: str, password: str, confirm: str, now: datetime) -> int:
    """Confirm the address through its link and sign in; optionally set a password.

    The link is checked before the password, so a dead link says so first.
    """
    now = ensure_aware_utc(now)
    row = await find_account_token(token, TokenPurpose.verify, now)
    chosen = ensure_password(password, confirm) if (password or confirm) else None
    await _spend(row, TokenPurpose.verify, now)
    await _signed_in(row["user"], now, password=chosen)
    await record_event(
        Actor(row["user"], row["email"]),
        "applicant.email_verified",
        "user",
        row["user"],
        now,
        detail={"password_set": chosen is not None},
    )
    return row["user"]


async def use_sign_in_link(token: str, nonce: str | None, now: datetime) -> int:
    now = ensure_aware_utc(now)
    row = await find_account_token(token, TokenPurpose.sign_in, now)
    ensure_same_browser(row, nonce)
    await _spend(row, TokenPurpose.sign_in, now)
    await _retire(row["user"], (TokenPurpose.sign_in,), now)
    await _signed_in(row["user"], now)
    await record_event(
        Actor(row["user"], row["email"]), "applicant.signed_in_by_link", "user", row["user"], now
    )
    return row["user"]


async def reset_password(token: str, password: str, confirm: str, now: datetime) -> int:
    """Set a new password through a reset link; every other live link of the person dies."""
    now = ensure_aware_utc(now)
    row = await find_account_token(token, TokenPurpose.reset, now)
    password = ensure_password(password, confirm)
    await _spend(row, TokenPurpose.reset, now)
    await _retire(row["user"], (TokenPurpose.reset, TokenPurpose.sign_in), now)
    await _signed_in(row["user"], now, password=password)
    await record_event(
        Actor(row["user"], row["email"]), "applicant.password_reset", "user", row["user"], now
    )
    return row["user"]
