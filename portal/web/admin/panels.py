"""Admin pages for a round's panel: members, invitations, the chair, and conflicts.

Admins see applicants' names beside the panel labels (they see the applications
anyway); the chair's own list follows the round's anonymity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.errors import DomainError
from portal.domain.panels.conflicts import (
    conflict_counts,
    round_conflicts,
)
from portal.domain.panels.invitations import invite_member, resend_invitation
from portal.domain.panels.roster import (
    current_chair,
    make_chair,
    member_for_admin,
    panel_members,
    remove_member,
    round_for_panel,
)
from portal.mail.compose.panels import compose_panel_invitation
from portal.web.common import actor_of, checkbox, form_errors, refusal_status, settings_of
from portal.web.panel.ruling import RulingForm, RulingPlace, ruling_page, submit_ruling
from workers.dispatch import write_then_send

NOTICES = {
    "invited": "Invitation sent.",
    "resent": "A new invitation link was sent. The previous link no longer works.",
    "removed": "The member was removed from the panel. Their panel pages are closed to them.",
    "chair": "The chair was changed.",
    "ruled": "The conflict was ruled minor. The member can see the application again.",
}


@dataclass
class PanelInviteForm:
    name: str = ""
    email: str = ""
    chair: str = ""


@dataclass
class ConfirmForm:
    confirm: str = ""


class PanelAdminController(Controller):
    path = "/rounds/{round_id:int}/panel"

    async def _page(
        self,
        request: Request,
        round_id: int,
        *,
        form: PanelInviteForm | None = None,
        errors: dict[str, str] | None = None,
        notice: str = "",
        status_code: int = 200,
    ) -> Template:
        async with read_transaction():
            now = await database_now()
            round_row = await round_for_panel(round_id)
            members = await panel_members(round_id, now)
            conflicts = await round_conflicts(round_id, show_names=True)
            chair = await current_chair(round_id)
        counts = conflict_counts(conflicts)
        for m in members:
            m["conflicts"] = counts.get(m["id"], 0)
        return Template(
            "admin/panel_list.html",
            context={
                "round": round_row,
                "members": members,
                "conflicts": conflicts,
                "chair": chair,
                "form": form or PanelInviteForm(),
                "errors": errors or {},
                "notice": NOTICES.get(notice, ""),
                "invite_hours": settings_of(request).invite_hours,
                "archived": round_row["stage"] == "archived",
            },
            status_code=status_code,
        )

    @get("/", name="admin_round_panel")
    async def index(
        self, request: Request, round_id: FromPath[int], done: FromQuery[str] = ""
    ) -> Template:
        return await self._page(request, round_id, notice=done)

    @post("/invite")
    async def invite(
        self, request: Request, round_id: FromPath[int], data: URLEncodedBody[PanelInviteForm]
    ) -> Template | Redirect:
        settings = settings_of(request)
        try:
            async with write_then_send() as mail:
                _, message_id = await invite_member(
                    round_id,
                    data.email,
                    data.name,
                    checkbox(data.chair),
                    actor_of(request),
                    await database_now(),
                    timedelta(hours=settings.invite_hours),
                    compose_panel_invitation(settings),
                )
                mail.send(message_id)
        except DomainError as exc:
            status = refusal_status(exc)
            errors = form_errors(exc)
            if "form" in errors:
                errors = {"invite-heading": errors.pop("form"), **errors}
            return await self._page(request, round_id, form=data, errors=errors, status_code=status)
        return Redirect(f"/admin/rounds/{round_id}/panel?done=invited", status_code=303)

    @post("/members/{member_id:int}/resend")
    async def resend(
        self, request: Request, round_id: FromPath[int], member_id: FromPath[int]
    ) -> Template | Redirect:
        settings = settings_of(request)
        try:
            async with write_then_send() as mail:
                message_id = await resend_invitation(
                    round_id,
                    member_id,
                    actor_of(request),
                    await database_now(),
                    timedelta(hours=settings.invite_hours),
                    compose_panel_invitation(settings),
                )
                mail.send(message_id)
        except DomainError as exc:
            status = refusal_status(exc)
            return await self._page(
                request, round_id, errors={"members": exc.message}, status_code=status
            )
        return Redirect(f"/admin/rounds/{round_id}/panel?done=resent", status_code=303)

    @post("/members/{member_id:int}/remove")
    async def remove(
        self, request: Request, round_id: FromPath[int], member_id: FromPath[int]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                await remove_member(round_id, member_id, actor_of(request), await database_now())
        except DomainError as exc:
            status = refusal_status(exc)
            return await self._page(
                request, round_id, errors={"members": exc.message}, status_code=status
            )
        return Redirect(f"/admin/rounds/{round_id}/panel?done=removed", status_code=303)

    async def _chair_page(
        self, round_id: int, member_id: int, errors: dict[str, str], status_code: int = 200
    ) -> Template:
        async with read_transaction():
            round_row = await round_for_panel(round_id)
            member = await member_for_admin(round_id, member_id)
            chair = await current_chair(round_id)
        return Template(
            "admin/panel_chair.html",
            context={"round": round_row, "member": member, "chair": chair, "errors": errors},
            status_code=status_code,
        )

    @get("/members/{member_id:int}/chair")
    async def chair_form(self, round_id: FromPath[int], member_id: FromPath[int]) -> Template:
        return await self._chair_page(round_id, member_id, {})

    @post("/members/{member_id:int}/chair")
    async def chair(
        self,
        request: Request,
        round_id: FromPath[int],
        member_id: FromPath[int],
        data: URLEncodedBody[ConfirmForm],
    ) -> Template | Redirect:
        if not checkbox(data.confirm):
            return await self._chair_page(
                round_id,
                member_id,
                {"confirm": "Tick the box to confirm the change of chair."},
                400,
            )
        try:
            async with write_transaction():
                await make_chair(round_id, member_id, actor_of(request), await database_now())
        except DomainError as exc:
            status = refusal_status(exc)
            return await self._chair_page(round_id, member_id, {"confirm": exc.message}, status)
        return Redirect(f"/admin/rounds/{round_id}/panel?done=chair", status_code=303)

    @staticmethod
    def _place(round_id: int, member_id: int, application_id: int) -> RulingPlace:
        async def authorise() -> None:
            await round_for_panel(round_id)  # admins rule in any round that exists

        return RulingPlace(
            authorise=authorise,
            action=f"/admin/rounds/{round_id}/panel/conflicts/{member_id}/{application_id}",
            back=f"/admin/rounds/{round_id}/panel",
            done=f"/admin/rounds/{round_id}/panel?done=ruled",
            admin=True,
        )

    @get("/conflicts/{member_id:int}/{application_id:int}")
    async def ruling_form(
        self, round_id: FromPath[int], member_id: FromPath[int], application_id: FromPath[int]
    ) -> Template:
        """An admin's form to rule any member's conflict minor."""
        place = self._place(round_id, member_id, application_id)
        return await ruling_page(place, round_id, member_id, application_id, RulingForm(), {})

    @post("/conflicts/{member_id:int}/{application_id:int}")
    async def rule(
        self,
        request: Request,
        round_id: FromPath[int],
        member_id: FromPath[int],
        application_id: FromPath[int],
        data: URLEncodedBody[RulingForm],
    ) -> Template | Redirect:
        """An admin rules a conflict minor, with a reason; audited."""
        place = self._place(round_id, member_id, application_id)
        return await submit_ruling(request, place, round_id, member_id, application_id, data)


controllers = [PanelAdminController]
public_controllers: list = []
