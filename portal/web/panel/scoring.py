"""Scoring pages under /panel: the member's queue, one application with the score form,
and the chair's progress page (also open to admins), with "close scoring now" and
"reopen a sheet".

Thin handlers over `portal.domain.scoring.queries`, `score_sheets` and
`scoring_oversight`; every refusal of something the person may not see is the
domain's NotFound (404). In an anonymised round nothing identifying
reaches these pages: the domain does not even read it.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.errors import DomainError, NotFound
from portal.domain.panels.access import is_ready, membership
from portal.domain.scoring.oversight import close_scoring, overseer, progress, reopen_sheet
from portal.domain.scoring.queries import (
    PanelApplication,
    member_queue,
    panel_application,
    round_with_seat,
)
from portal.domain.scoring.rules import ScoringClosed, SheetSubmitted, scoring_window
from portal.domain.scoring.sheets import MAX_COMMENT, save_scores, submit_sheet
from portal.web.auth import CurrentUser
from portal.web.common import actor_of, form_errors

UserRequest = Request[CurrentUser, dict, Any]

# Only these fields are read; anything else in the form is ignored.
_FIELD = re.compile(r"^(score|comment)_([0-9]{1,9})$")
ACTIONS = ("save", "next", "submit")
NOT_READY = (
    "Confirm confidentiality and declare your conflicts on your panel page "
    "before you see any application."
)
NOTICES = {
    "saved": "Your scores are saved.",
    "submitted": "Your score sheet is submitted. You can now see the other members' scores.",
    "closed": "Scoring is closed. Members can no longer change their scores.",
    "reopened": "The score sheet is reopened: the member can change and submit it again.",
}


def _see_other(path: str) -> Redirect:
    return Redirect(path, status_code=303)


async def ready_member(user_id: int, round_id: int) -> dict[str, Any]:
    """The user's membership of the round, if they may see applications; NotFound otherwise."""
    member = await membership(user_id, round_id)
    if not is_ready(member):
        raise NotFound(NOT_READY)
    return member


def parse_score_form(form: Any) -> tuple[dict[int, Any], dict[int, Any], dict[str, str]]:
    """(values, comments, entered) from the posted form; repeated fields stay lists, so
    the domain refuses them."""
    values: dict[int, Any] = {}
    comments: dict[int, Any] = {}
    entered: dict[str, str] = {}
    for key in form:
        match = _FIELD.match(key)
        if not match:
            continue
        sent = form.getall(key)
        value = sent[0] if len(sent) == 1 else sent
        entered[key] = value if isinstance(value, str) else ""
        (values if match.group(1) == "score" else comments)[int(match.group(2))] = value
    return values, comments, entered


def _application_page(
    view: PanelApplication,
    *,
    entered: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    title = view.identity.name if view.identity else view.label
    return Template(
        "panel/scoring_application.html",
        context={
            "view": view,
            "title": title,
            "round": view.round,
            "entered": entered or {},
            "errors": errors or {},
            "notice": NOTICES.get(notice, ""),
            "max_comment": MAX_COMMENT,
        },
        status_code=status_code,
    )


class ScoringController(Controller):
    path = "/rounds"

    @get("/{round_id:int}/scoring", name="panel_scoring_queue")
    async def queue(self, request: UserRequest, round_id: FromPath[int]) -> Template:
        async with read_transaction():
            member = await ready_member(request.user.id, round_id)
            queue = await member_queue(member, await database_now())
        return Template(
            "panel/scoring_queue.html",
            context={"queue": queue, "round": queue.round, "member": member},
        )

    @get("/{round_id:int}/applications/{application_id:int}")
    async def application(
        self,
        request: UserRequest,
        round_id: FromPath[int],
        application_id: FromPath[int],
        done: FromQuery[str] = "",
    ) -> Template:
        async with read_transaction():
            member = await ready_member(request.user.id, round_id)
            view = await panel_application(member, application_id, await database_now())
        return _application_page(view, notice=done)

    @post("/{round_id:int}/applications/{application_id:int}")
    async def save(
        self, request: UserRequest, round_id: FromPath[int], application_id: FromPath[int]
    ) -> Template | Redirect:
        form = await request.form()
        values, comments, entered = parse_score_form(form)
        action = form.get("action")
        action = action if action in ACTIONS else "save"
        now = await database_now()
        try:
            async with write_transaction():
                member = await ready_member(request.user.id, round_id)
                await save_scores(member, application_id, values, comments, now)
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(request, round_id, application_id, exc, entered)
        base = f"/panel/rounds/{round_id}/applications"
        if action == "submit":
            try:
                async with write_transaction():
                    await submit_sheet(
                        member, application_id, actor_of(request), await database_now()
                    )
            except NotFound:
                raise
            except DomainError as exc:
                # The scores above are saved; say what is missing before it can be submitted.
                return await self._refused(request, round_id, application_id, exc, entered)
            return _see_other(f"{base}/{application_id}?done=submitted#others")
        if action == "next":
            async with read_transaction():
                queue = await member_queue(member, await database_now())
            following = queue.next_unfinished(after=application_id)
            if following is None:
                return _see_other(f"/panel/rounds/{round_id}/scoring")
            return _see_other(f"{base}/{following}")
        return _see_other(f"{base}/{application_id}?done=saved")

    async def _refused(
        self,
        request: UserRequest,
        round_id: int,
        application_id: int,
        exc: DomainError,
        entered: dict[str, str],
    ) -> Template:
        async with read_transaction():
            member = await ready_member(request.user.id, round_id)
            view = await panel_application(member, application_id, await database_now())
        if isinstance(exc, ScoringClosed | SheetSubmitted):
            errors = {"sheet": exc.message}
        else:
            errors = form_errors(exc)
        return _application_page(view, entered=entered, errors=errors, status_code=exc.status_code)

    # ---- The chair (and admins) ----------------------------------------------------

    @get("/{round_id:int}/progress", name="panel_scoring_progress")
    async def progress_page(
        self, request: UserRequest, round_id: FromPath[int], done: FromQuery[str] = ""
    ) -> Template:
        async with read_transaction():
            await overseer(request.user.id, round_id)
            return await self._progress(request, round_id, notice=done)

    async def _progress(
        self,
        request: UserRequest,
        round_id: int,
        *,
        notice: str = "",
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        round_row = await round_with_seat(round_id)
        return Template(
            "panel/scoring_progress.html",
            context={
                "round": round_row,
                "members": await progress(round_id),
                "window": scoring_window(round_row, await database_now()),
                "notice": NOTICES.get(notice, ""),
                "errors": errors or {},
                "viewer_is_admin": request.user.is_admin,
            },
            status_code=status_code,
        )

    @post("/{round_id:int}/scoring/close")
    async def close(self, request: UserRequest, round_id: FromPath[int]) -> Template | Redirect:
        try:
            async with write_transaction():
                await close_scoring(round_id, actor_of(request), await database_now())
        except NotFound:
            raise
        except DomainError as exc:
            async with read_transaction():
                return await self._progress(
                    request, round_id, errors={"close": exc.message}, status_code=exc.status_code
                )
        return _see_other(f"/panel/rounds/{round_id}/progress?done=closed")

    @post("/{round_id:int}/sheets/{sheet_id:int}/reopen")
    async def reopen(
        self, request: UserRequest, round_id: FromPath[int], sheet_id: FromPath[int]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                await reopen_sheet(round_id, sheet_id, actor_of(request), await database_now())
        except NotFound:
            raise
        except DomainError as exc:
            async with read_transaction():
                return await self._progress(
                    request, round_id, errors={"sheets": exc.message}, status_code=exc.status_code
                )
        return _see_other(f"/panel/rounds/{round_id}/progress?done=reopened")


controllers = [ScoringController]
