"""Conflicts on the panel: a member says "I have a conflict"; the chair sees and rules.

Every refusal is a 404: another round, an application the member cannot see (or
before they are ready), a non-chair on the chair's pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.errors import DomainError, NotFound
from portal.domain.panels.access import (
    ensure_chair,
    ensure_ready,
    membership,
    numbered_application,
)
from portal.domain.panels.conflicts import (
    KIND_LABELS,
    MAX_NOTE,
    application_for_member,
    declare_conflict,
    round_conflicts,
)
from portal.domain.panels.roster import round_for_panel
from portal.web.common import form_errors
from portal.web.panel.ruling import RulingForm, RulingPlace, ruling_page, submit_ruling


@dataclass
class ConflictForm:
    kind: str = ""
    note: str = ""


class DeclareConflictController(Controller):
    path = "/rounds/{round_id:int}/applications/{number:int}/conflict"

    async def _page(
        self,
        request: Request,
        round_id: int,
        number: int,
        form: ConflictForm,
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        async with read_transaction():
            member = await membership(request.user.id, round_id)
            application_id = await numbered_application(round_id, number)
            application = await application_for_member(member, application_id)
            round_row = await round_for_panel(round_id)
        return Template(
            "panel/conflict_declare.html",
            context={
                "round": round_row,
                "application": application,
                "number": number,
                "form": form,
                "errors": errors,
                "kinds": KIND_LABELS,
                "max_note": MAX_NOTE,
            },
            status_code=status_code,
        )

    @get("/", name="panel_conflict_declare")
    async def form(
        self, request: Request, round_id: FromPath[int], number: FromPath[int]
    ) -> Template:
        """A member's form to declare a conflict with one application."""
        return await self._page(request, round_id, number, ConflictForm(), {})

    @post("/")
    async def declare(
        self,
        request: Request,
        round_id: FromPath[int],
        number: FromPath[int],
        data: URLEncodedBody[ConflictForm],
    ) -> Template | Redirect:
        """A member declares a conflict: the application is withheld from them at once."""
        try:
            async with write_transaction():
                member = await membership(request.user.id, round_id)
                application_id = await numbered_application(round_id, number)
                await declare_conflict(
                    member, application_id, data.kind, data.note, await database_now()
                )
        except NotFound:
            raise
        except DomainError as exc:
            return await self._page(request, round_id, number, data, form_errors(exc), 400)
        return Redirect("/panel?done=conflict", status_code=303)


class ChairConflictsController(Controller):
    """The chair's list of the panel's conflicts, and the ruling "minor"."""

    path = "/rounds/{round_id:int}/conflicts"

    async def _chair(self, request: Request, round_id: int) -> dict:
        member = await membership(request.user.id, round_id)
        ensure_chair(member)
        ensure_ready(member)  # NotReady: the panel router sends them to declare first
        return member

    @get("/", name="panel_conflicts")
    async def index(
        self, request: Request, round_id: FromPath[int], done: FromQuery[str] = ""
    ) -> Template:
        async with read_transaction():
            member = await self._chair(request, round_id)
            round_row = await round_for_panel(round_id)
            conflicts = await round_conflicts(round_id)
        return Template(
            "panel/conflicts_list.html",
            context={
                "round": round_row,
                "member": member,
                "conflicts": conflicts,
                "ruled": done == "ruled",
            },
        )

    def _place(self, request: Request, round_id: int, member_id: int, number: int):
        async def authorise() -> int:
            return (await self._chair(request, round_id))["id"]

        return RulingPlace(
            authorise=authorise,
            action=f"/panel/rounds/{round_id}/conflicts/{member_id}/{number}",
            back=f"/panel/rounds/{round_id}/conflicts",
            done=f"/panel/rounds/{round_id}/conflicts?done=ruled",
        )

    @get("/{member_id:int}/{number:int}", name="panel_conflict_rule")
    async def ruling_form(
        self,
        request: Request,
        round_id: FromPath[int],
        member_id: FromPath[int],
        number: FromPath[int],
    ) -> Template:
        """The chair's form to rule a member's conflict minor (the application by panel number)."""
        place = self._place(request, round_id, member_id, number)
        application_id = await numbered_application(round_id, number)
        return await ruling_page(place, round_id, member_id, application_id, RulingForm(), {})

    @post("/{member_id:int}/{number:int}")
    async def rule(
        self,
        request: Request,
        round_id: FromPath[int],
        member_id: FromPath[int],
        number: FromPath[int],
        data: URLEncodedBody[RulingForm],
    ) -> Template | Redirect:
        """The chair rules a conflict minor (never their own), with a reason; audited."""
        place = self._place(request, round_id, member_id, number)
        application_id = await numbered_application(round_id, number)
        return await submit_ruling(request, place, round_id, member_id, application_id, data)


controllers = [DeclareConflictController, ChairConflictsController]
public_controllers: list = []
