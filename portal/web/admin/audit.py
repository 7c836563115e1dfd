"""The audit log page: newest first, 50 a page, filtered by round and by action.

Query values are typed by people and by tools: a malformed round gives the 400
page with a reason, a page number out of range shows the nearest real page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Controller, get
from litestar.params import FromQuery
from litestar.response import Template

from portal.db import read_transaction
from portal.domain.audit import AuditFilter, audit_filter_choices, list_events, parse_audit_filter
from portal.domain.timerules import DEFAULT_ZONE, format_date


def _page_link(audit_filter: AuditFilter, page: int) -> str:
    query = {
        "round": audit_filter.round_id or "",
        "action": audit_filter.action or "",
        "page": page,
    }
    return "/admin/audit?" + urlencode({k: v for k, v in query.items() if v not in ("", None)})


class AuditController(Controller):
    path = "/audit"

    @get("/", name="admin_audit")
    async def audit_log(
        self, round: FromQuery[str] = "", action: FromQuery[str] = "", page: FromQuery[str] = ""
    ) -> Template:  # noqa: A002
        audit_filter = parse_audit_filter(round, action, page)  # DomainError -> the 400 page
        async with read_transaction():
            result = await list_events(audit_filter)
            rounds, actions = await audit_filter_choices()
        round_options = [("", "All rounds")] + [
            (
                str(r["id"]),
                f"Round {r['id']} of {r['seat_title'] or '(deleted seat)'}, opens {format_date(r['opens_at'], r['timezone'] or DEFAULT_ZONE)}",
            )
            for r in rounds
        ]
        action_options = [("", "All actions")] + [(a, a) for a in actions]
        return Template(
            "admin/audit_list.html",
            context={
                "result": result,
                "filter": audit_filter,
                "round_options": round_options,
                "action_options": action_options,
                "previous_link": _page_link(audit_filter, result.page - 1)
                if result.has_previous
                else None,
                "next_link": _page_link(audit_filter, result.page + 1) if result.has_next else None,
            },
        )


controllers = [AuditController]
public_controllers: list = []
