"""The outbox: every mail with its state, queue health, a preview, and retry/discard.

In the embedded mode (no SMTP server) nothing leaves the machine, so this page is
also the mailbox where admins read what was "sent"; each mail is also written as an
.eml file under the mailbox folder.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.outbox import delivery, messages, review
from portal.domain.outbox import queries as outbox_page
from portal.domain.outbox.messages import OutboxState
from portal.domain.outbox.queries import MAX_RECIPIENT, STALL_AFTER
from portal.domain.timerules import describe_duration
from portal.settings import Settings
from portal.web.common import actor_of, settings_of
from workers.dispatch import write_then_send

NOTICES = {
    "retried": "The message is queued to be sent again.",
    "released": "The message is queued to be sent now, although it is late.",
    "discarded": "The message was discarded and will not be sent.",
}
# A live invitation link lets whoever holds it set that person's password. Where mail
# really leaves (SMTP), only the recipient should have it, so the preview hides it.
_INVITATION_LINK = re.compile(r"(/admin/invitations/)[A-Za-z0-9_\-]+")


def _hide_links(text: str) -> str:
    return _INVITATION_LINK.sub(r"\1[link hidden]", text)


def _age(span: timedelta | None) -> str:
    return describe_duration(span) if span is not None else ""


def _round_options(rounds: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Short labels: a select is as wide as its longest option, and phones are narrow."""

    def label(r: dict[str, Any]) -> str:
        title = r["seat_title"] or "(deleted seat)"
        if len(title) > 28:
            title = title[:27].rstrip() + "…"
        return f"Round {r['id']}: {title}"

    return [("", "Any round")] + [(str(r["id"]), label(r)) for r in rounds]


def _list_context(
    overview: outbox_page.OutboxOverview,
    wanted: outbox_page.OutboxFilter,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    pages = overview.pages

    def link(page_no: int) -> str:
        return "/admin/outbox?" + urlencode(wanted.query(page_no) | {"page": page_no})

    round_options = _round_options(overview.rounds)
    if wanted.round_id and str(wanted.round_id) not in dict(round_options):
        round_options.append((str(wanted.round_id), f"Round {wanted.round_id} (no mail)"))
    health = overview.health
    return {
        "counts": overview.counts,
        "total_all": sum(overview.counts.values()),
        "kinds": overview.kinds,
        "round_options": round_options,
        "messages": overview.messages,
        "total": overview.total,
        "filter": wanted,
        "status": wanted.status,
        "kind": wanted.kind,
        "page": wanted.page,
        "pages": pages,
        "previous_link": link(wanted.page - 1) if wanted.page > 1 else None,
        "next_link": link(wanted.page + 1) if wanted.page < pages else None,
        "problems": wanted.problems,
        "health": health,
        "oldest_age": _age(health.oldest_pending_age),
        "overdue_age": _age(health.longest_overdue),
        "stall_after": describe_duration(STALL_AFTER),
        "max_recipient": MAX_RECIPIENT,
        "local_mailbox": not settings.smtp_url,
        "mailbox_dir": settings.mailbox_dir.resolve(),
        "now": now,
    }


class OutboxController(Controller):
    path = "/outbox"

    @get("/", name="admin_outbox")
    async def index(
        self,
        request: Request,
        status: FromQuery[str] = "",
        kind: FromQuery[str] = "",
        round: FromQuery[str] = "",  # noqa: A002
        recipient: FromQuery[str] = "",
        page: FromQuery[str] = "1",
    ) -> Template:
        """Admins: every mail with its state, filtered, paged, with the queue's health."""
        wanted = outbox_page.parse_outbox_filter(status, kind, round, recipient, page)
        async with read_transaction():
            now = await database_now()
            overview = await outbox_page.outbox_overview(wanted, now)
        return Template(
            "admin/outbox_list.html",
            context=_list_context(overview, wanted, settings_of(request), now),
        )

    @get("/{message_id:int}", name="admin_outbox_message")
    async def detail(
        self, request: Request, message_id: FromPath[int], done: FromQuery[str] = ""
    ) -> Template:
        settings = settings_of(request)
        message: dict[str, Any] = await messages.get_message(message_id)
        hidden = bool(settings.smtp_url) and message["kind"] == "invitation"
        if hidden:
            message = {
                **message,
                "body_text": _hide_links(message["body_text"]),
                "body_html": _hide_links(message["body_html"]),
            }
        now = await database_now()
        expired = delivery.is_expired(message, now)
        return Template(
            "admin/outbox_detail.html",
            context={
                "message": message,
                "notice": NOTICES.get(done),
                "links_hidden": hidden,
                "local_mailbox": not settings.smtp_url,
                "mailbox_file": settings.mailbox_dir.resolve()
                / f"{message['id']:06d}-{message['kind']}.eml",
                "expired": expired,
                "can_retry": message["status"] in review.RETRYABLE and not expired,
                "can_discard": message["status"] in review.DISCARDABLE,
                "max_age": delivery.describe_age_limit(
                    timedelta(hours=settings.mail_max_age_hours)
                ),
            },
        )

    @post("/{message_id:int}/retry")
    async def retry(self, request: Request, message_id: FromPath[int]) -> Redirect:
        async with write_then_send() as mail:
            was = await review.retry_message(message_id, actor_of(request), await database_now())
            mail.send(message_id)
        held = was == OutboxState.held.value
        return Redirect(f"/admin/outbox/{message_id}?done={'released' if held else 'retried'}")

    @post("/{message_id:int}/discard")
    async def discard(self, request: Request, message_id: FromPath[int]) -> Redirect:
        async with write_transaction():
            await review.discard_message(message_id, actor_of(request), await database_now())
        return Redirect(f"/admin/outbox/{message_id}?done=discarded")


controllers = [OutboxController]
public_controllers: list = []
