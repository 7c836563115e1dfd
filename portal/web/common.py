"""Small helpers every controller shares: who is acting, form errors, the page cache."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection

from portal.domain.audit import Actor
from portal.domain.errors import DomainError, NotFound, ValidationErrors
from portal.settings import Settings

PUBLIC_CACHE_STORE = "response_cache"


def settings_of(connection: ASGIConnection) -> Settings:
    return connection.app.state["settings"]


def actor_of(request: Request) -> Actor:
    user = request.scope.get("user")
    if user is None:
        return Actor.system()
    return Actor(user_id=user.id, label=user.email)


def refusal_status(exc: DomainError) -> int:
    """The status of a refusal to show on the form; NotFound is raised on to the 404 page
    (an unknown record is never a form error)."""
    if isinstance(exc, NotFound):
        raise exc
    return exc.status_code


def form_errors(exc: DomainError) -> dict[str, str]:
    """Field -> message for a form's error summary (the field id is the anchor)."""
    if isinstance(exc, ValidationErrors):
        return dict(exc.errors)
    return {exc.field or "form": exc.message}


async def clear_public_cache(connection: ASGIConnection) -> None:
    """Call after a change the public pages show (seats, rounds), so nobody sees stale times."""
    await connection.app.stores.get(PUBLIC_CACHE_STORE).delete_all()


def checkbox(value: Any) -> bool:
    return str(value or "").lower() in {"1", "on", "true", "yes"}
