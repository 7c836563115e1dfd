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
from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.errors import DomainError, NotFound
from portal.domain.panels.access import is_ready, membership, numbered_application
from portal.domain.scoring.oversight import close_scoring, overseer, progress, reopen_sheet
from portal.domain.scoring.queries import (
    PanelApplication,
    Queue,
    member_queue,
    panel_application,
    round_with_seat,
)
from portal.domain.scoring.rules import ScoringClosed, SheetSubmitted, scoring_window
from portal.domain.scoring.sheets import (
    MAX_COMMENT,
    StaleScores,
    ensure_ready_to_submit,
    save_scores,
    submit_sheet,
)
from portal.web.auth import CurrentUser
from portal.web.common import actor_of, form_errors

UserRequest = Request[CurrentUser, dict, Any]

# Only these fields are read; anything else in the form is ignored.
_FIELD = re.compile(r"^(seen_)?(score|comment)_([0-9]{1,9})$")
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


async def _after_save(
    member: dict[str, Any], round_id: int, number: int, application_id: int, action: str
) -> Redirect:
    """Where a saved sheet goes: the confirmation, the next unfinished application (or
    the queue), or the same page saying it is saved."""
    base = f"/panel/rounds/{round_id}/applications"
    if action == "submit":
        return _see_other(f"{base}/{number}/submit")
    if action == "next":
        async with read_transaction():
            queue = await member_queue(member, await database_now())
        following = queue.next_unfinished(after=application_id)
        if following is None:
            return _see_other(f"/panel/rounds/{round_id}/scoring?saved={number}")
        return _see_other(f"{base}/{following.number}?saved={number}")
    return _see_other(f"{base}/{number}?done=saved")


async def _read(
    member: dict[str, Any], round_id: int, number: int
) -> tuple[PanelApplication, Queue]:
    application_id = await numbered_application(round_id, number)
    now = await database_now()
    return await panel_application(member, application_id, now), await member_queue(member, now)


async def ready_member(user_id: int, round_id: int) -> dict[str, Any]:
    """The user's membership of the round, if they may see applications; NotFound otherwise."""
    member = await membership(user_id, round_id)
    if not is_ready(member):
        raise NotFound(NOT_READY)
    return member


@dataclass
class ScoreForm:
    """A posted score form: the values and comments sent, and what the page showed
    (`seen_*`), so only changes are saved and a stale page is caught."""

    values: dict[int, Any] = field(default_factory=dict)
    comments: dict[int, Any] = field(default_factory=dict)
    seen_values: dict[int, Any] = field(default_factory=dict)
    seen_comments: dict[int, Any] = field(default_factory=dict)
    entered: dict[str, str] = field(default_factory=dict)


def parse_score_form(form: Any) -> ScoreForm:
    """The score form's fields; repeated fields stay lists, so the domain refuses them."""
    out = ScoreForm()
    targets = {
        ("", "score"): out.values,
        ("", "comment"): out.comments,
        ("seen_", "score"): out.seen_values,
        ("seen_", "comment"): out.seen_comments,
    }
    for key in form:
        match = _FIELD.match(key)
        if not match:
            continue
        sent = form.getall(key)
        value = sent[0] if len(sent) == 1 else sent
        prefix = match.group(1) or ""
        if not prefix:
            out.entered[key] = value if isinstance(value, str) else ""
        elif not isinstance(value, str):
            continue  # a page never sends these twice: ignore, compare as "not seen"
        targets[(prefix, match.group(2))][int(match.group(3))] = value
    return out


def _application_page(
    view: PanelApplication,
    queue: Queue,
    *,
    entered: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    clashes: dict[str, tuple[str, str]] | None = None,
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
            "number": view.application["panel_number"],
            "position": queue.position(view.application["id"]),
            "entered": entered or {},
            "errors": errors or {},
            "clashes": clashes or {},
            "notice": notice,
            "max_comment": MAX_COMMENT,
        },
        status_code=status_code,
    )


class ScoringController(Controller):
    path = "/rounds"

    @get("/{round_id:int}/scoring", name="panel_scoring_queue")
    async def queue(
        self, request: UserRequest, round_id: FromPath[int], saved: FromQuery[str] = ""
    ) -> Template:
        """A member's applications to score, with their sheet's state."""
        async with read_transaction():
            member = await ready_member(request.user.id, round_id)
            queue = await member_queue(member, await database_now())
        notice = ""
        if saved.isdigit() and len(saved) < 7:
            notice = (
                f"Your scores for Applicant {int(saved)} are saved. That was the last one to score."
            )
        return Template(
            "panel/scoring_queue.html",
            context={"queue": queue, "round": queue.round, "member": member, "notice": notice},
        )

    @get("/{round_id:int}/applications/{number:int}")
    async def application(
        self,
        request: UserRequest,
        round_id: FromPath[int],
        number: FromPath[int],
        done: FromQuery[str] = "",
        saved: FromQuery[str] = "",
    ) -> Template:
        """A member reads one application (by its panel number) and their score form."""
        async with read_transaction():
            member = await ready_member(request.user.id, round_id)
            view, queue = await _read(member, round_id, number)
        notice = NOTICES.get(done, "")
        if saved.isdigit() and len(saved) < 7:
            notice = f"Your scores for Applicant {int(saved)} are saved."
        return _application_page(view, queue, notice=notice)

    @post("/{round_id:int}/applications/{number:int}")
    async def save(
        self, request: UserRequest, round_id: FromPath[int], number: FromPath[int]
    ) -> Template | Redirect:
        """A member saves the scores they changed on their own sheet; "Save and next"
        moves on, "Submit score sheet" asks to confirm first."""
        form = await request.form()
        sent = parse_score_form(form)
        action = form.get("action")
        action = action if action in ACTIONS else "save"
        try:
            async with write_transaction():
                member = await ready_member(request.user.id, round_id)
                application_id = await numbered_application(round_id, number)
                await save_scores(
                    member,
                    application_id,
                    sent.values,
                    sent.comments,
                    await database_now(),
                    seen_values=sent.seen_values,
                    seen_comments=sent.seen_comments,
                )
            if action == "submit":  # nobody is asked to confirm a sheet that cannot go
                async with read_transaction():
                    await ensure_ready_to_submit(member, application_id)
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(request, round_id, number, exc, sent.entered)
        return await _after_save(member, round_id, number, application_id, action)

    @get("/{round_id:int}/applications/{number:int}/submit")
    async def confirm_submit(
        self, request: UserRequest, round_id: FromPath[int], number: FromPath[int]
    ) -> Template:
        """Before a member submits a sheet they cannot change again: their scores, to check."""
        async with read_transaction():
            member = await ready_member(request.user.id, round_id)
            view, _ = await _read(member, round_id, number)
        return Template(
            "panel/scoring_submit.html",
            context={"view": view, "round": view.round, "number": number, "title": view.label},
        )

    @post("/{round_id:int}/applications/{number:int}/submit")
    async def submit(
        self, request: UserRequest, round_id: FromPath[int], number: FromPath[int]
    ) -> Template | Redirect:
        """A member submits their sheet, once every criterion is scored; audited."""
        try:
            async with write_transaction():
                member = await ready_member(request.user.id, round_id)
                application_id = await numbered_application(round_id, number)
                await submit_sheet(member, application_id, actor_of(request), await database_now())
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(request, round_id, number, exc, {})
        return _see_other(f"/panel/rounds/{round_id}/applications/{number}?done=submitted#others")

    async def _refused(
        self,
        request: UserRequest,
        round_id: int,
        number: int,
        exc: DomainError,
        entered: dict[str, str],
    ) -> Template:
        async with read_transaction():
            member = await ready_member(request.user.id, round_id)
            view, queue = await _read(member, round_id, number)
        clashes = exc.clashes if isinstance(exc, StaleScores) else {}
        if isinstance(exc, ScoringClosed | SheetSubmitted | StaleScores):
            errors = {"sheet": exc.message}
        else:
            errors = form_errors(exc)
        return _application_page(
            view,
            queue,
            entered=entered,
            errors=errors,
            clashes=clashes,
            status_code=exc.status_code,
        )

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
