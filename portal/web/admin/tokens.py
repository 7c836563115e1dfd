"""API tokens: each admin lists, creates and revokes their own.

A new token's secret is shown once, on the page that answers the create form, and
never stored or shown again (only its hash and first characters are kept); the
page is not cached (`Cache-Control: no-store` on every admin page).
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.accounts.api_tokens import (
    MAX_TOKEN_NAME,
    create_api_token,
    ensure_token_name,
    list_api_tokens,
    revoke_own_api_token,
)
from portal.domain.errors import DomainError, NotFound
from portal.web.auth import CurrentUser
from portal.web.common import actor_of, checkbox, form_errors

NOTICES = {"revoked": "The token was revoked. Anything still using it is now refused."}


@dataclass
class TokenForm:
    name: str = ""


@dataclass
class RevokeForm:
    confirm: str = ""


async def _revoke_page(
    user: CurrentUser, token_id: int, errors: dict[str, str], status_code: int = 200
) -> Template:
    async with read_transaction():
        token = next((t for t in await list_api_tokens(user.id) if t["id"] == token_id), None)
    if token is None or token["revoked_at"] is not None:
        raise NotFound("You have no active API token with that number.")
    return Template(
        "admin/token_revoke.html",
        context={"token": token, "errors": errors},
        status_code=status_code,
    )


async def _list_page(
    user: CurrentUser,
    form: TokenForm,
    errors: dict[str, str],
    notice: str = "",
    status_code: int = 200,
) -> Template:
    async with read_transaction():
        tokens = await list_api_tokens(user.id)
    return Template(
        "admin/token_list.html",
        context={
            "tokens": tokens,
            "form": form,
            "errors": errors,
            "notice": NOTICES.get(notice, ""),
            "max_name": MAX_TOKEN_NAME,
        },
        status_code=status_code,
    )


class TokenController(Controller):
    path = "/tokens"

    @get("/", name="admin_tokens")
    async def index(
        self, request: Request[CurrentUser, dict, State], done: FromQuery[str] = ""
    ) -> Template:
        return await _list_page(request.user, TokenForm(), {}, done)

    @post("/", status_code=200)
    async def create(
        self, request: Request[CurrentUser, dict, State], data: URLEncodedBody[TokenForm]
    ) -> Template:
        user = request.user
        try:
            name = ensure_token_name(data.name)
            async with write_transaction():
                raw = await create_api_token(user.id, name, actor_of(request), await database_now())
        except DomainError as exc:
            return await _list_page(user, data, form_errors(exc), status_code=400)
        return Template("admin/token_created.html", context={"name": name, "token": raw})

    @get("/{token_id:int}/revoke")
    async def confirm_revoke(
        self, request: Request[CurrentUser, dict, State], token_id: FromPath[int]
    ) -> Template:
        """An admin is asked to confirm revoking one of their own tokens (it cannot be undone)."""
        return await _revoke_page(request.user, token_id, {})

    @post("/{token_id:int}/revoke")
    async def revoke(
        self,
        request: Request[CurrentUser, dict, State],
        token_id: FromPath[int],
        data: URLEncodedBody[RevokeForm],
    ) -> Template | Redirect:
        """An admin revokes one of their own tokens, once confirmed; audited."""
        if not checkbox(data.confirm):
            message = "Tick the box to confirm: anything using this token stops working."
            return await _revoke_page(request.user, token_id, {"confirm": message}, 400)
        # Someone else's token, an unknown id or one already revoked: NotFound, shown as a 404 page.
        async with write_transaction():
            await revoke_own_api_token(
                request.user.id, token_id, actor_of(request), await database_now()
            )
        return Redirect("/admin/tokens?done=revoked")


controllers = [TokenController]
public_controllers: list = []
