"""The chair's moderation pages under /panel: the round's scores, agreed scores, and the
shortlist proposal.

Only the chair of that round reaches them; anyone else (a member, another round's
chair, an applicant) gets the domain's NotFound (404). Thin handlers over
`portal.domain.scoring.moderation` and `portal.domain.outcomes.shortlist`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.errors import DomainError, NotFound
from portal.domain.outcomes.shortlist import (
    MAX_NOTE,
    ShortlistInput,
    propose_shortlist,
    shortlist_view,
)
from portal.domain.panels.access import numbered_application
from portal.domain.scoring import arithmetic as sm
from portal.domain.scoring.coverage import MAX_REASON, record_not_scored, round_coverage
from portal.domain.scoring.moderation import (
    MAX_RATIONALE,
    AgreedScoreInput,
    StaleAgreedScore,
    agreed_score_page,
    moderation_view,
    record_agreed_score,
)
from portal.web.auth import CurrentUser
from portal.web.common import actor_of, form_errors

UserRequest = Request[CurrentUser, dict, Any]
# These forms are a few kilobytes at most; anything bigger is refused (413) unparsed.
FORM_MAX_BYTES = 32 * 1024
# Rows per moderation page: a round of 1,000 applications is about 90 KB a page, not 900.
PAGE_SIZE = 100


@dataclass
class NotScoredForm:
    reason: str = ""


NOTICES = {
    "agreed": "The agreed score is saved and recorded in the audit log.",
    "proposed": "The shortlist proposal is saved. An admin will confirm it.",
    "decided": "Your decision is recorded in the audit log; the admin sees it when confirming.",
}


def _page_number(text: str, pages: int) -> int:
    """A page number from the address; anything odd is the first page, too big the last."""
    value = sm.parse_id(text)
    return min(max(value or 1, 1), pages)


def _refused(exc: DomainError) -> None:
    """Refusals that are not about the form itself keep their own page (404, 409)."""
    if isinstance(exc, NotFound) or not exc.field:
        raise exc


class ModerationController(Controller):
    path = "/rounds/{round_id:int}"

    @get("/moderation", name="panel_moderation")
    async def moderation(
        self,
        request: UserRequest,
        round_id: FromPath[int],
        done: FromQuery[str] = "",
        page: FromQuery[str] = "",
        application: FromQuery[str] = "",
    ) -> Template:
        async with read_transaction():
            view = await moderation_view(request.user.id, round_id)
            shortlist = await shortlist_view(view.scores)
        ranked = view.scores.ranked
        pages = max(1, -(-len(ranked) // PAGE_SIZE))
        number = _page_number(page, pages)
        wanted = view.scores.application_numbered(sm.parse_id(application) or 0)
        if wanted is not None and not page:  # back from an agreed score: its page
            position = next(
                (i for i, r in enumerate(ranked) if r.result.application_id == wanted), 0
            )
            number = position // PAGE_SIZE + 1
        start = (number - 1) * PAGE_SIZE
        return Template(
            "panel/moderation.html",
            context={
                "view": view,
                "scores": view.scores,
                "round": view.scores.round,
                "rows": ranked[start : start + PAGE_SIZE],
                "first": start + 1,
                "page": number,
                "pages": pages,
                "shortlist": shortlist,
                "show": sm.show,
                "spread_limit": sm.DISAGREEMENT_SPREAD,
                "notice": NOTICES.get(done, ""),
            },
        )

    async def _agreed_page(
        self,
        request: UserRequest,
        round_id: int,
        number: int,
        form: AgreedScoreInput | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
        stale: dict | None = None,
    ) -> Template:
        async with read_transaction():
            application_id = await numbered_application(round_id, number)
            page = await agreed_score_page(request.user.id, round_id, application_id)
        return Template(
            "panel/moderation_agreed.html",
            context={
                "page": page,
                "scores": page.view.scores,
                "round": page.view.scores.round,
                "result": page.ranked.result,
                "form": form or AgreedScoreInput(),
                "errors": errors or {},
                "max_rationale": MAX_RATIONALE,
                "show": sm.show,
                "stale": stale,
            },
            status_code=status_code,
        )

    @get("/moderation/{number:int}", name="panel_agreed_score")
    async def agreed_form(
        self, request: UserRequest, round_id: FromPath[int], number: FromPath[int]
    ) -> Template:
        """The chair's agreed-score form for one application, beside the members' scores."""
        return await self._agreed_page(request, round_id, number)

    @post("/moderation/{number:int}", request_max_body_size=FORM_MAX_BYTES)
    async def agreed_save(
        self,
        request: UserRequest,
        round_id: FromPath[int],
        number: FromPath[int],
        data: URLEncodedBody[AgreedScoreInput],
    ) -> Template | Redirect:
        """The chair records an agreed score for one criterion, with a rationale; audited."""
        try:
            async with write_transaction():
                application_id = await numbered_application(round_id, number)
                await record_agreed_score(
                    request.user.id,
                    round_id,
                    application_id,
                    data,
                    actor_of(request),
                    await database_now(),
                )
        except StaleAgreedScore as exc:
            return await self._agreed_page(
                request, round_id, number, data, form_errors(exc), 409, stale=exc.saved
            )
        except DomainError as exc:
            _refused(exc)
            return await self._agreed_page(
                request, round_id, number, data, form_errors(exc), exc.status_code
            )
        return Redirect(
            f"/panel/rounds/{round_id}/moderation?done=agreed&application={number}"
            f"#applicant-{number}",
            status_code=303,
        )

    async def _shortlist_page(
        self,
        request: UserRequest,
        round_id: int,
        form: ShortlistInput | None = None,
        errors: dict[str, str] | None = None,
        notice: str = "",
        status_code: int = 200,
    ) -> Template:
        async with read_transaction():
            view = await moderation_view(request.user.id, round_id)
            shortlist = await shortlist_view(view.scores)
            coverage = await round_coverage(view.scores)
        if form is None:
            form = ShortlistInput(method=sm.ShortlistMethod.top_n.value)
            if shortlist:
                form = ShortlistInput(
                    method=shortlist.row["method"],
                    top_n=str(shortlist.row["top_n"] or ""),
                    threshold=shortlist.threshold_text if shortlist.row["threshold"] else "",
                    note=shortlist.row["note"],
                )
        return Template(
            "panel/shortlist.html",
            context={
                "view": view,
                "scores": view.scores,
                "round": view.scores.round,
                "shortlist": shortlist,
                "coverage": coverage,
                "max_reason": MAX_REASON,
                "form": form,
                "errors": errors or {},
                "notice": NOTICES.get(notice, ""),
                "max_note": MAX_NOTE,
                "max_top_n": sm.MAX_TOP_N,
            },
            status_code=status_code,
        )

    @get("/shortlist", name="panel_shortlist")
    async def shortlist(
        self, request: UserRequest, round_id: FromPath[int], done: FromQuery[str] = ""
    ) -> Template:
        return await self._shortlist_page(request, round_id, notice=done)

    @post("/shortlist", request_max_body_size=FORM_MAX_BYTES)
    async def propose(
        self, request: UserRequest, round_id: FromPath[int], data: URLEncodedBody[ShortlistInput]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                await propose_shortlist(
                    request.user.id, round_id, data, actor_of(request), await database_now()
                )
        except DomainError as exc:
            _refused(exc)
            return await self._shortlist_page(
                request, round_id, data, form_errors(exc), status_code=exc.status_code
            )
        return Redirect(f"/panel/rounds/{round_id}/shortlist?done=proposed", status_code=303)

    @post("/shortlist/not-scored/{number:int}", request_max_body_size=FORM_MAX_BYTES)
    async def not_scored(
        self,
        request: UserRequest,
        round_id: FromPath[int],
        number: FromPath[int],
        data: URLEncodedBody[NotScoredForm],
    ) -> Template | Redirect:
        """The chair lets an application short of score sheets go forward, with a reason; audited."""
        try:
            async with write_transaction():
                application_id = await numbered_application(round_id, number)
                await record_not_scored(
                    request.user.id,
                    round_id,
                    application_id,
                    data.reason,
                    actor_of(request),
                    await database_now(),
                )
        except DomainError as exc:
            _refused(exc)
            errors = {f"reason-{number}": exc.message}
            return await self._shortlist_page(request, round_id, None, errors, status_code=400)
        return Redirect(
            f"/panel/rounds/{round_id}/shortlist?done=decided#coverage", status_code=303
        )


controllers = [ModerationController]
public_controllers: list = []
