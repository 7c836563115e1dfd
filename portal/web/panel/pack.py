"""The shortlist pack under /panel: the page, and its documents for members of the round.

Thin handlers over `portal.domain.outcomes.pack`, which decides who may see what; every
refusal is its NotFound (404). A member who has not declared yet gets NotReady,
which the panel router turns into "declare first".
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.outcomes.pack import load_pack
from portal.domain.outcomes.pack import pack_document as load_pack_document
from portal.domain.panels.access import numbered_application
from portal.web.auth import CurrentUser
from portal.web.common import actor_of
from portal.web.documents import describe_size, document_response

UserRequest = Request[CurrentUser, dict, Any]


class PackController(Controller):
    path = "/rounds/{round_id:int}/pack"

    @get("/", name="panel_pack")
    async def show_pack(self, request: UserRequest, round_id: FromPath[int]) -> Template:
        async with read_transaction():
            pack = await load_pack(request.user.id, round_id)
        return Template("panel/pack.html", context={"pack": pack, "describe_size": describe_size})

    @get("/applications/{number:int}/documents/{kind:str}", name="panel_pack_document")
    async def download(
        self,
        request: UserRequest,
        round_id: FromPath[int],
        number: FromPath[int],
        kind: FromPath[str],
    ) -> Response[bytes]:
        """A member downloads a shortlisted applicant's document (by panel number); audited."""
        # A write transaction: the download is recorded in the audit log.
        async with write_transaction():
            application_id = await numbered_application(round_id, number)
            doc = await load_pack_document(
                request.user.id,
                round_id,
                application_id,
                kind,
                actor_of(request),
                await database_now(),
            )
        return document_response(doc)


controllers = [PackController]
