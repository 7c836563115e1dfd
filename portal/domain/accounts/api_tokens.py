"""API tokens for admins: made, listed, used and revoked. Only a SHA-256 of the secret is
stored; the secret is shown once.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from portal.domain.accounts.credentials import hash_token
from portal.domain.audit import Actor, record_event
from portal.domain.errors import DomainError, NotFound
from portal.domain.timerules import ensure_aware_utc
from portal.tables import ApiToken

API_TOKEN_PREFIX = "sp_"  # noqa: S105 - a visible prefix, not a secret


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
