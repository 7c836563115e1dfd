"""Public pages: the seat list, seat pages, the Atom feed and round calendars."""

from __future__ import annotations

from litestar import Router, get
from litestar.response import Template

from portal.domain.timerules import utcnow


@get("/", name="home")
async def home() -> Template:
    return Template(template_name="public/seat_list.html", context={"now": utcnow(), "groups": {}})


router = Router(path="/", route_handlers=[home], include_in_schema=False, opt={"public": True})
