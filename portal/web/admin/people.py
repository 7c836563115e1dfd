"""Admins: the list, inviting another admin, and (signed out) accepting an invitation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Controller, Request, get, post
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.accounts.admins import (
    accept_invitation,
    find_invitation,
    invite_admin,
    list_admins,
)
from portal.domain.accounts.credentials import MIN_PASSWORD
from portal.domain.errors import DomainError, NotFound
from portal.mail.compose.accounts import compose_invitation
from portal.web.auth import sign_in
from portal.web.common import actor_of, form_errors, settings_of
from workers.dispatch import write_then_send


def _invitation_client(request: Request) -> str:
    # Its own bucket: guessing links and guessing passwords are limited separately.
    return f"invitation::{get_remote_address(request)}"


# Like the sign-in: ten attempts a minute per client address.
invitation_rate_limit = RateLimitConfig(
    rate_limit=("minute", 10), store="rate_limit", identifier_for_request=_invitation_client
)


@dataclass
class InviteForm:
    name: str = ""
    email: str = ""


@dataclass
class PasswordForm:
    password: str = ""
    confirm: str = ""


def _parse_id(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 18 else None


class PeopleController(Controller):
    path = "/people"

    async def _page(
        self,
        request: Request,
        form: InviteForm,
        errors: dict[str, str],
        status_code: int = 200,
        invited: int | None = None,
    ) -> Template:
        async with read_transaction():
            admins = await list_admins(await database_now())
        return Template(
            "admin/people_list.html",
            context={
                "admins": admins,
                "form": form,
                "errors": errors,
                "invited": next((a for a in admins if a["id"] == invited), None),
                "invite_hours": settings_of(request).invite_hours,
            },
            status_code=status_code,
        )

    @get("/", name="admin_people")
    async def index(self, request: Request, invited: FromQuery[str] = "") -> Template:
        return await self._page(request, InviteForm(), {}, invited=_parse_id(invited))

    @post("/invite")
    async def invite(
        self, request: Request, data: URLEncodedBody[InviteForm]
    ) -> Template | Redirect:
        settings = settings_of(request)
        try:
            async with write_then_send() as mail:
                invitation, message_id = await invite_admin(
                    data.email,
                    data.name,
                    actor_of(request),
                    await database_now(),
                    timedelta(hours=settings.invite_hours),
                    compose_invitation(settings),
                )
                mail.send(message_id)
        except DomainError as exc:
            return await self._page(request, data, form_errors(exc), status_code=400)
        return Redirect(f"/admin/people?invited={invitation.user_id}")


def _invalid(message: str) -> Template:
    return Template("admin/invitation_invalid.html", context={"message": message}, status_code=404)


class InvitationController(Controller):
    """Reached from the mail, before the person has a password: no session needed."""

    path = "/invitations"
    opt = {"public": True}

    def _form(
        self, token: str, invitation: dict[str, Any], errors: dict[str, str], status_code: int = 200
    ) -> Template:
        return Template(
            "admin/invitation_accept.html",
            context={
                "token": token,
                "invitation": invitation,
                "errors": errors,
                "min_password": MIN_PASSWORD,
            },
            status_code=status_code,
        )

    @get("/{token:str}", name="admin_invitation")
    async def form(self, token: FromPath[str]) -> Template:
        try:
            invitation = await find_invitation(token, await database_now())
        except NotFound as exc:
            return _invalid(exc.message)
        return self._form(token, invitation, {})

    @post("/{token:str}", middleware=[invitation_rate_limit.middleware])
    async def accept(
        self, request: Request, token: FromPath[str], data: URLEncodedBody[PasswordForm]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                user_id = await accept_invitation(
                    token, data.password, data.confirm, await database_now()
                )
        except NotFound as exc:
            return _invalid(exc.message)
        except DomainError as exc:
            try:
                invitation = await find_invitation(token, await database_now())
            except NotFound as gone:
                return _invalid(gone.message)
            return self._form(token, invitation, form_errors(exc), status_code=400)
        sign_in(request, {"id": user_id})  # a new session id: nothing planted before survives
        return Redirect("/admin")


controllers = [PeopleController]
public_controllers = [InvitationController]
