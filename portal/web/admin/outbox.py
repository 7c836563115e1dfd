"""The outbox: every mail with its state, a preview, and retry/discard.

In the embedded mode (no SMTP server) nothing leaves the machine, so this page is
also the mailbox where admins read what was "sent"; each mail is also written as an
.eml file under the mailbox folder.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.db import read_transaction, write_transaction
from portal.domain import outbox
from portal.domain.outbox import OutboxState
from portal.domain.timerules import utcnow
from portal.web.common import actor_of, settings_of
from workers.mail import dispatch

MAX_KIND = 40  # the column's length: anything longer cannot match
MAX_PAGE = 100_000

NOTICES = {
    "retried": "The message is queued to be sent again.",
    "discarded": "The message was discarded and will not be sent.",
}
# A live invitation link lets whoever holds it set that person's password. Where mail
# really leaves (SMTP), only the recipient should have it, so the preview hides it.
_INVITATION_LINK = re.compile(r"(/admin/invitations/)[A-Za-z0-9_\-]+")


def _page_number(value: str) -> int:
    return min(int(value), MAX_PAGE) if value.isdigit() and len(value) < 9 and int(value) > 0 else 1


def _hide_links(text: str) -> str:
    return _INVITATION_LINK.sub(r"\1[link hidden]", text)


class OutboxController(Controller):
    path = "/outbox"

    @get("/", name="admin_outbox")
    async def index(
        self,
        request: Request,
        status: FromQuery[str] = "",
        kind: FromQuery[str] = "",
        page: FromQuery[str] = "1",
    ) -> Template:
        settings = settings_of(request)
        problems: list[str] = []
        if status and status not in OutboxState.__members__:
            problems.append("There is no such status; showing messages of every status.")
            status = ""
        if len(kind) > MAX_KIND:
            problems.append("There is no such kind of message; showing every kind.")
            kind = ""
        number = _page_number(page)
        async with read_transaction():
            counts = await outbox.count_by_status()
            kinds = await outbox.message_kinds()
            messages, total = await outbox.list_messages(
                status=status or None, kind=kind or None, page=number
            )
        pages = max(1, math.ceil(total / outbox.PAGE_SIZE))

        def link(page_no: int) -> str:
            query = {k: v for k, v in (("status", status), ("kind", kind)) if v}
            return "/admin/outbox?" + urlencode({**query, "page": page_no})

        return Template(
            "admin/outbox_list.html",
            context={
                "counts": counts,
                "total_all": sum(counts.values()),
                "kinds": kinds,
                "messages": messages,
                "total": total,
                "status": status,
                "kind": kind,
                "page": number,
                "pages": pages,
                "previous_link": link(number - 1) if number > 1 else None,
                "next_link": link(number + 1) if number < pages else None,
                "problems": problems,
                "local_mailbox": not settings.smtp_url,
                "mailbox_dir": settings.mailbox_dir.resolve(),
                "now": utcnow(),
            },
        )

    @get("/{message_id:int}", name="admin_outbox_message")
    async def detail(
        self, request: Request, message_id: FromPath[int], done: FromQuery[str] = ""
    ) -> Template:
        settings = settings_of(request)
        message: dict[str, Any] = await outbox.get_message(message_id)
        hidden = bool(settings.smtp_url) and message["kind"] == "invitation"
        if hidden:
            message = {
                **message,
                "body_text": _hide_links(message["body_text"]),
                "body_html": _hide_links(message["body_html"]),
            }
        return Template(
            "admin/outbox_detail.html",
            context={
                "message": message,
                "notice": NOTICES.get(done),
                "links_hidden": hidden,
                "local_mailbox": not settings.smtp_url,
                "mailbox_file": settings.mailbox_dir.resolve()
                / f"{message['id']:06d}-{message['kind']}.eml",
                "can_retry": message["status"] == OutboxState.failed.value,
                "can_discard": message["status"] in outbox.DISCARDABLE,
            },
        )

    @post("/{message_id:int}/retry")
    async def retry(self, request: Request, message_id: FromPath[int]) -> Redirect:
        async with write_transaction():
            await outbox.retry_message(message_id, actor_of(request), utcnow())
        # After the commit, so the worker sees the row as pending.
        dispatch([message_id])
        return Redirect(f"/admin/outbox/{message_id}?done=retried")

    @post("/{message_id:int}/discard")
    async def discard(self, request: Request, message_id: FromPath[int]) -> Redirect:
        async with write_transaction():
            await outbox.discard_message(message_id, actor_of(request), utcnow())
        return Redirect(f"/admin/outbox/{message_id}?done=discarded")


controllers = [OutboxController]
public_controllers: list = []
