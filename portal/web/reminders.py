"""Opting out of deadline reminders from the link in every reminder (and back in).

The token in the address is the credential (an HMAC of the user id), so no session is
needed and the paths are excluded from CSRF: a mail client's RFC 8058 one-click POST
carries no CSRF token. GET only shows a page with a button, because mail scanners
follow links; only POST changes anything. A bad or forged token is a 404.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath
from litestar.response import Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.errors import NotFound
from portal.domain.reminders.optout import (
    reminder_preference,
    set_reminders_opt_out,
    token_user_id,
    unsubscribe_token,
)
from portal.web.common import settings_of

INVALID = "This reminder link is not valid."


def _user_id(request: Request, token: str) -> int:
    user_id = token_user_id(settings_of(request).secret_key, token)
    if user_id is None:
        raise NotFound(INVALID)
    return user_id


def _page(token: str, preference: dict, notice: str = "") -> Template:
    return Template(
        "reminders/preference.html",
        context={
            "token": token,
            "email": preference["email"],
            "opted_out": preference["reminders_opt_out_at"] is not None,
            "notice": notice,
        },
    )


async def reminder_setting(request: Request, user_id: int) -> dict:
    """For the profile page: whether reminders are off, and the address that changes it."""
    preference = await reminder_preference(user_id)
    token = unsubscribe_token(settings_of(request).secret_key, user_id)
    return {"off": preference["reminders_opt_out_at"] is not None, "token": token}


class ReminderPreferenceController(Controller):
    path = "/reminders/unsubscribe/{token:str}"
    include_in_schema = False
    cache_control = CacheControlHeader(no_store=True)
    opt = {"public": True}

    @get("/")
    async def confirm(self, request: Request, token: FromPath[str]) -> Template:
        user_id = _user_id(request, token)
        async with read_transaction():
            preference = await reminder_preference(user_id)
        return _page(token, preference)

    @post("/", status_code=200)
    async def unsubscribe(self, request: Request, token: FromPath[str]) -> Template:
        """The page's button and a mail client's one-click POST (body ignored) alike."""
        return await self._set(request, token, opt_out=True)

    @post("/resubscribe", status_code=200)
    async def resubscribe(self, request: Request, token: FromPath[str]) -> Template:
        return await self._set(request, token, opt_out=False)

    async def _set(self, request: Request, token: str, *, opt_out: bool) -> Template:
        user_id = _user_id(request, token)
        async with write_transaction():
            await set_reminders_opt_out(user_id, opt_out, await database_now())
            preference = await reminder_preference(user_id)
        notice = "" if opt_out else "Reminders are on again."
        return _page(token, preference, notice)


controllers = [ReminderPreferenceController]
