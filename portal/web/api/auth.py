"""The API's one guard: an admin's bearer token, checked once for the whole write router.

Tokens are looked up by their hash (`user_for_api_token`), which also stamps when
the token was last used; that is a write, so it runs in a write transaction.
The token's owner becomes `scope["user"]`, so `actor_of(request)` names them in
the audit log exactly as a signed-in admin would be named.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme

from portal.db import database_now, write_transaction
from portal.domain.accounts.api_tokens import user_for_api_token
from portal.domain.accounts.credentials import Role
from portal.web.auth import CurrentUser

SCHEME = "AdminToken"
OPENAPI_COMPONENTS = Components(
    security_schemes={
        SCHEME: SecurityScheme(
            type="http",
            scheme="bearer",
            description="An admin API token, from the admin page /admin/tokens or `portal create-admin EMAIL --token`.",
        )
    }
)
SECURITY: list[SecurityRequirement] = [{SCHEME: []}]

_CHALLENGE = 'Bearer realm="portal"'


def bearer_token(connection: ASGIConnection) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def requires_api_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    token = bearer_token(connection)
    if token is None:
        raise NotAuthorizedException(
            "Send an admin API token in the header `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": _CHALLENGE},
        )
    async with write_transaction():
        owner = await user_for_api_token(token, await database_now())
    if owner is None:
        raise NotAuthorizedException(
            "This API token is not valid or has been revoked.",
            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        )
    if owner["role"] != Role.admin.value:
        raise PermissionDeniedException("This token belongs to an account that is not an admin.")
    connection.scope["user"] = CurrentUser(
        id=owner["user_id"], email=owner["email"], name=owner["email"], role=owner["role"]
    )
