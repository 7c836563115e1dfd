"""Sign-in sessions and the guards each audience's router carries.

Sessions are server-side (a file store in the embedded mode, Redis in production),
last `PORTAL_SESSION_HOURS`, and get a new id at sign-in so a session id planted
before sign-in (fixation) is worthless afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.security.session_auth import SessionAuth
from litestar.types import Empty, Message

from portal.domain.accounts.credentials import Role
from portal.settings import Settings
from portal.tables import User
from portal.web.security import SESSION_COOKIE

_ROTATE = "portal.rotate_session"


@dataclass(frozen=True)
class CurrentUser:
    id: int
    email: str
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin.value


class RotatingSessionBackend(ServerSideSessionBackend):
    """Issues a fresh session id (and forgets the old one) when a handler asks for it."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        state = connection.scope.get(_ROTATE)
        if state is not None:
            if "new" not in state:
                state["new"] = self.generate_session_id()
            return state["new"]
        return super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: Any, message: Message, connection: ASGIConnection
    ) -> None:
        state = connection.scope.get(_ROTATE)
        old = connection.cookies.get(self.config.key)
        if not scope_session:
            if not old or old == "null":
                return  # an anonymous visitor: no session, no cookie, nothing stored
            scope_session = Empty
        if state is not None and old and not state.get("old_deleted"):
            state["old_deleted"] = True
            await self.delete(old, store=self.config.get_store_from_app(connection.scope["app"]))
        await super().store_in_message(scope_session, message, connection)


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend  # type: ignore[assignment]


def sign_in(connection: ASGIConnection, user: dict[str, Any]) -> None:
    connection.scope[_ROTATE] = {}  # type: ignore[literal-required]
    connection.set_session({"user_id": user["id"]})


def sign_out(connection: ASGIConnection) -> None:
    connection.clear_session()


async def retrieve_user(session: dict[str, Any], connection: ASGIConnection) -> CurrentUser | None:
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    row = (
        await User.select(User.id, User.email, User.name, User.role)
        .where(
            (User.id == user_id) & (User.is_active == True)  # noqa: E712
        )
        .first()
    )
    return CurrentUser(**row) if row else None


def session_auth(settings: Settings) -> SessionAuth:
    return SessionAuth[CurrentUser, ServerSideSessionBackend](
        retrieve_user_handler=retrieve_user,
        session_backend_config=RotatingSessionConfig(
            key=SESSION_COOKIE,
            store="sessions",
            max_age=settings.session_hours * 3600,
            secure=settings.secure_cookies,
            httponly=True,
            samesite="lax",
        ),
        # Public pages, the API (token auth) and health checks need no session user.
        exclude=[
            "^/$",
            "^/seats",
            "^/feed",
            "^/rounds",
            "^/static",
            "^/api",
            "^/healthz",
            "^/readyz",
            "^/schema",
            "^/reminders/unsubscribe/",
        ],
        exclude_opt_key="public",
    )


def requires_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Sign in as an admin to see this page.")
    if not getattr(user, "is_admin", False):
        raise PermissionDeniedException("Only admins can use this page.")


def requires_signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Panel pages: any account; the domain decides what it may see."""
    if connection.scope.get("user") is None:
        raise NotAuthorizedException("Sign in to see this page.")


def requires_applicant(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Applicant pages: admins are not applicants, so they get 403 here too."""
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Sign in to see this page.")
    if getattr(user, "role", None) != Role.applicant.value:
        raise PermissionDeniedException("Only applicant accounts can use this page.")
