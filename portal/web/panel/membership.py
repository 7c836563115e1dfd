"""Joining a panel and getting ready: the invitation link, the panel home, declarations.

The invitation page is public (the link is the credential for a new account; an
existing account must be signed in as itself). Everything else needs a sign-in and
shows only the person's own memberships: any other round is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.accounts.credentials import MIN_PASSWORD
from portal.domain.errors import DomainError, NotFound
from portal.domain.panels.access import NotReady, membership
from portal.domain.panels.declarations import (
    CONFIDENTIALITY_UNDERTAKING,
    MAX_ORGANISATION_NAME,
    MAX_ORGANISATIONS,
    declared_organisations,
    make_declarations,
    member_rounds,
)
from portal.domain.panels.invitations import LinkGone, accept_invitation, find_invitation
from portal.domain.panels.roster import round_for_panel
from portal.web.auth import sign_in
from portal.web.common import checkbox, form_errors

NOTICES = {
    "declared": "Thank you. Your declarations are saved and you can now see the applications.",
    "conflict": "Your conflict is recorded. That application is no longer shown to you; "
    "the chair will see your declaration.",
    "accepted": "You have joined the panel.",
}


def _invitation_client(request: Request) -> str:
    return f"panel-invitation::{get_remote_address(request)}"


# Guessing links is hopeless, but cheap to bound; its own bucket.
invitation_rate_limit = RateLimitConfig(
    rate_limit=("minute", 10), store="rate_limit", identifier_for_request=_invitation_client
)


def not_ready_handler(request: Request, exc: NotReady) -> Response:
    """Any panel page that needs declarations first sends the member to make them."""
    round_id = request.path_params.get("round_id")
    return Redirect(f"/panel/rounds/{round_id}/declarations" if round_id else "/panel")


@dataclass
class AcceptForm:
    password: str = ""
    confirm: str = ""


@dataclass
class DeclarationsForm:
    confidentiality: str = ""
    organisations: str = ""


def _session_user_id(request: Request) -> int | None:
    # A public route: the session is read directly, no user is loaded for it.
    user_id = request.session.get("user_id") if request.session else None
    return user_id if isinstance(user_id, int) else None


def _dead_link(exc: DomainError) -> Template:
    return Template(
        "panel/invitation_invalid.html",
        context={"message": exc.message, "gone": isinstance(exc, LinkGone)},
        status_code=exc.status_code,
    )


class InvitationController(Controller):
    """Reached from the invitation mail, possibly before the person has an account."""

    path = "/invitations"
    opt = {"public": True}

    def _page(
        self,
        request: Request,
        token: str,
        invitation: dict[str, Any],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        signed_in = _session_user_id(request)
        return Template(
            "panel/invitation_accept.html",
            context={
                "token": token,
                "invitation": invitation,
                "errors": errors,
                "min_password": MIN_PASSWORD,
                "signed_in_as_them": signed_in == invitation["user"],
                "signed_in_as_other": signed_in is not None and signed_in != invitation["user"],
            },
            status_code=status_code,
        )

    @get("/{token:str}", name="panel_invitation")
    async def form(self, request: Request, token: FromPath[str]) -> Template:
        try:
            invitation = await find_invitation(token, await database_now())
        except DomainError as exc:
            return _dead_link(exc)
        return self._page(request, token, invitation, {})

    @post("/{token:str}", middleware=[invitation_rate_limit.middleware])
    async def accept(
        self, request: Request, token: FromPath[str], data: URLEncodedBody[AcceptForm]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                user_id, round_id = await accept_invitation(
                    token,
                    data.password,
                    data.confirm,
                    _session_user_id(request),
                    await database_now(),
                )
        except (NotFound, LinkGone) as exc:
            return _dead_link(exc)
        except DomainError as exc:
            try:
                invitation = await find_invitation(token, await database_now())
            except DomainError as gone:
                return _dead_link(gone)
            return self._page(request, token, invitation, form_errors(exc), status_code=400)
        sign_in(request, {"id": user_id})  # a new session id: nothing planted before survives
        return Redirect(f"/panel/rounds/{round_id}/declarations", status_code=303)


class PanelHomeController(Controller):
    path = "/"

    @get("/", name="panel_home")
    async def home(self, request: Request, done: FromQuery[str] = "") -> Template:
        async with read_transaction():
            rounds = await member_rounds(request.user.id)
        return Template(
            "panel/home.html", context={"rounds": rounds, "notice": NOTICES.get(done, "")}
        )


class PanelRoundController(Controller):
    """/panel/rounds/{id}: the address mails link to. Members land on that round's
    entry on their panel home page; anyone else gets the panel 404."""

    path = "/rounds/{round_id:int}"

    @get("/", name="panel_round")
    async def show(self, request: Request, round_id: FromPath[int]) -> Redirect:
        async with read_transaction():
            await membership(request.user.id, round_id)
        return Redirect(f"/panel#round-{round_id}", status_code=303)


class DeclarationsController(Controller):
    path = "/rounds/{round_id:int}/declarations"

    async def _page(
        self,
        request: Request,
        round_id: int,
        form: DeclarationsForm | None,
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        async with read_transaction():
            member = await membership(request.user.id, round_id)
            round_row = await round_for_panel(round_id)
            if form is None:
                names = await declared_organisations(member["id"])
                form = DeclarationsForm(
                    confidentiality="1" if member["confidentiality_at"] else "",
                    organisations="\n".join(names),
                )
        return Template(
            "panel/declarations.html",
            context={
                "member": member,
                "round": round_row,
                "seat_title": round_row["seat_title"],
                "form": form,
                "errors": errors,
                "undertaking": CONFIDENTIALITY_UNDERTAKING,
                "max_organisations": MAX_ORGANISATIONS,
                "max_name": MAX_ORGANISATION_NAME,
            },
            status_code=status_code,
        )

    @get("/", name="panel_declarations")
    async def form(self, request: Request, round_id: FromPath[int]) -> Template:
        return await self._page(request, round_id, None, {})

    @post("/")
    async def submit(
        self, request: Request, round_id: FromPath[int], data: URLEncodedBody[DeclarationsForm]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                member = await membership(request.user.id, round_id)
                await make_declarations(
                    member, checkbox(data.confidentiality), data.organisations, await database_now()
                )
        except NotFound:
            raise
        except DomainError as exc:
            return await self._page(request, round_id, data, form_errors(exc), status_code=400)
        return Redirect("/panel?done=declared", status_code=303)


controllers = [PanelHomeController, PanelRoundController, DeclarationsController]
public_controllers = [InvitationController]
exception_handlers = {NotReady: not_ready_handler}
