"""Opting out of deadline reminders (and back in) with a stateless, unforgeable token.

The token is "<user id>.<HMAC-SHA256 of it under the secret key>": the link in every
reminder is its own credential, nothing is stored, and a forged or altered token fails.
Receipts and outcome letters are not reminders and still go.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import MAX_RECORD_ID, NotFound
from portal.domain.timerules import ensure_aware_utc
from portal.tables import User

_TOKEN = re.compile(r"([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{43})")


def _mac(secret: str, user_id: int) -> str:
    digest = hmac.new(
        secret.encode(), f"reminders-opt-out:{user_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def unsubscribe_token(secret: str, user_id: int) -> str:
    """ "<user id>.<HMAC of it>": the link in every reminder is its own credential."""
    return f"{user_id}.{_mac(secret, user_id)}"


def token_user_id(secret: str, token: str) -> int | None:
    """The user a token was made for, or None for anything malformed or forged."""
    match = _TOKEN.fullmatch(token or "")
    if not match or not secret:
        return None
    user_id = int(match.group(1))
    if user_id > MAX_RECORD_ID:
        return None
    return user_id if hmac.compare_digest(match.group(2), _mac(secret, user_id)) else None


# ---- Opting out and back in ------------------------------------------------------------


async def reminder_preference(user_id: int) -> dict[str, Any]:
    """The user's id, email and `reminders_opt_out_at`, or NotFound."""
    row = (
        await User.select(User.id, User.email, User.reminders_opt_out_at)
        .where(User.id == user_id)
        .first()
    )
    if row is None:
        raise NotFound("This reminder link is not valid.")
    return row


async def set_reminders_opt_out(user_id: int, opt_out: bool, now: datetime) -> bool:
    """Turn deadline reminders off (or on again) for the user; True if it changed.

    Conditional, so a double click or a mail client's one-click POST after the person's
    own records one audit event. Receipts and outcome letters are not affected.
    """
    user = await reminder_preference(user_id)
    now = ensure_aware_utc(now)
    if opt_out:
        changed = (
            await User.update({User.reminders_opt_out_at: now})
            .where((User.id == user_id) & User.reminders_opt_out_at.is_null())
            .returning(User.id)
        )
    else:
        changed = (
            await User.update({User.reminders_opt_out_at: None})
            .where((User.id == user_id) & User.reminders_opt_out_at.is_not_null())
            .returning(User.id)
        )
    if changed:
        await record_event(
            Actor(user_id=user_id, label=user["email"]),
            "reminders.opted_out" if opt_out else "reminders.opted_in",
            "user",
            user_id,
            now,
        )
    return bool(changed)
