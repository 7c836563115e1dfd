"""The ceiling: a bare Litestar app that renders the portal's public pages from memory.

Same templates, same Jinja environment (filters, globals), same page contexts as
`portal/web/public.py`, but nothing else: no database while serving, no page cache,
no sessions, CSRF or security-header hook. The data are read once at start-up from
the benchmark's seeded database through the portal's own read functions and then
held in memory, so every request only builds the context and renders the template.
That is the most this stack can serve on this machine; `bench/pages.py` reports the
portal as a share of it.

Started by bench/pages.py as `uvicorn ceiling_app:app --app-dir bench` with
BENCH_DATABASE_URL (the seeded database) and BENCH_VAR_DIR (a scratch folder).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template
from litestar.static_files import create_static_files_router

from portal import db
from portal.domain.errors import NotFound
from portal.domain.seats.listings import SeatListing, SeatPage, public_seat_list, public_seat_page
from portal.domain.timerules import utcnow
from portal.settings import PROJECT_ROOT, Settings
from portal.tables import Seat
from portal.web.public import job_posting, script_json
from portal.web.templating import template_config

SETTINGS = Settings(
    database_url=os.environ.get("BENCH_DATABASE_URL", "sqlite:///var/portal.sqlite3"),
    var_dir=Path(os.environ.get("BENCH_VAR_DIR", "var")),
)


@dataclass
class Snapshot:
    """Everything the pages show, read once."""

    now: datetime
    listing: SeatListing | None = None
    pages: dict[str, SeatPage] | None = None


SNAPSHOT = Snapshot(now=utcnow())


async def load_snapshot() -> None:
    db.bind(db.engine_for(SETTINGS))
    now = SNAPSHOT.now
    async with db.read_transaction():
        SNAPSHOT.listing = await public_seat_list(now)
        pages = {}
        for row in await Seat.select(Seat.slug).where(Seat.published.eq(True)):
            try:
                pages[row["slug"]] = await public_seat_page(row["slug"], now)
            except NotFound:
                continue
        SNAPSHOT.pages = pages


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/")
async def home() -> Template:
    return Template(
        "public/seat_list.html", context={"listing": SNAPSHOT.listing, "now": SNAPSHOT.now}
    )


@get("/seats/{slug:str}")
async def seat_page(slug: FromPath[str]) -> Template:
    page = (SNAPSHOT.pages or {}).get(slug)
    if page is None:
        raise NotFoundException()
    return Template(
        "public/seat_detail.html",
        context={
            "page": page,
            "now": SNAPSHOT.now,
            "json_ld": script_json(job_posting(page, SETTINGS.base_url)),
        },
    )


app = Litestar(
    route_handlers=[
        healthz,
        home,
        seat_page,
        # base.html links its stylesheet with url_for('static', ...), so the route must exist.
        create_static_files_router(
            path="/static", directories=[PROJECT_ROOT / "portal" / "static"]
        ),
    ],
    template_config=template_config(SETTINGS),
    on_startup=[load_snapshot],
    debug=False,
)
