"""Admin pages for a round's shortlist: see the chair's proposal (with identities),
confirm it, and download every score as CSV.

Confirming is one write transaction in `portal.domain.outcomes.shortlist.confirm_shortlist`;
the pack mails it queues are dispatched only after that commits. The CSV download
writes an audit event, so it runs in a write transaction too.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.errors import DomainError, NotFound
from portal.domain.outcomes.shortlist import confirm_shortlist, shortlist_view
from portal.domain.rounds.phase import get_round
from portal.domain.scoring.coverage import round_coverage
from portal.domain.scoring.export import export_scores
from portal.domain.scoring.moderation import live_chair
from portal.domain.scoring.tally import round_scores
from portal.mail.compose.panels import compose_pack_mail
from portal.web.common import actor_of, settings_of
from workers.dispatch import write_then_send

NOTICES = {
    "confirmed": "The shortlist is confirmed. The round has moved to shortlisted and the "
    "panel is being sent the shortlist pack."
}
CONFIRM_FORM_MAX_BYTES = 8 * 1024


@dataclass
class ConfirmForm:
    proposed_at: str = ""


class ShortlistController(Controller):
    path = "/rounds/{round_id:int}"

    async def _page(
        self, round_id: int, *, error: str = "", notice: str = "", status_code: int = 200
    ) -> Template:
        async with read_transaction():
            await get_round(round_id)
            scores = await round_scores(round_id)
            shortlist = await shortlist_view(scores)
            coverage = await round_coverage(scores)
            chair = await live_chair(round_id)
        return Template(
            "admin/shortlist.html",
            context={
                "scores": scores,
                "round": scores.round,
                "shortlist": shortlist,
                "chair": chair,
                "coverage": coverage,
                "errors": {"confirm": error} if error else {},
                "notice": NOTICES.get(notice, ""),
            },
            status_code=status_code,
        )

    @get("/shortlist", name="admin_shortlist")
    async def show(self, round_id: FromPath[int], done: FromQuery[str] = "") -> Template:
        return await self._page(round_id, notice=done)

    @post("/shortlist/confirm", request_max_body_size=CONFIRM_FORM_MAX_BYTES)
    async def confirm(
        self, request: Request, round_id: FromPath[int], data: URLEncodedBody[ConfirmForm]
    ) -> Template | Redirect:
        try:
            async with write_then_send() as mail:
                message_ids = await confirm_shortlist(
                    round_id,
                    actor_of(request),
                    await database_now(),
                    compose_pack_mail(settings_of(request)),
                    expected_proposed_at=data.proposed_at or None,
                )
                mail.send(message_ids)
        except NotFound:
            raise
        except DomainError as exc:
            return await self._page(round_id, error=exc.message, status_code=exc.status_code)
        return Redirect(f"/admin/rounds/{round_id}/shortlist?done=confirmed", status_code=303)

    @get("/scores.csv")
    async def scores_csv(self, request: Request, round_id: FromPath[int]) -> Response[bytes]:
        async with write_transaction():
            await get_round(round_id)
            _, data = await export_scores(round_id, actor_of(request), await database_now())
        return Response(
            content=data,
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="round-{round_id}-scores.csv"',
                "X-Content-Type-Options": "nosniff",
            },
        )


controllers = [ShortlistController]
public_controllers: list = []
