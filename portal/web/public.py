"""Public pages: the seat list and seat pages (the feed and calendars are in `feeds`).

Every page reads its data in one `read_transaction()` (Piccolo otherwise opens a
new SQLite connection per query) and is cached (`page_cache`) for
`PORTAL_PUBLIC_CACHE_SECONDS`; admin changes empty the cache (`clear_public_cache`).
The router is excluded from CSRF: these pages have no forms, and a CSRF cookie set
on the first visitor's response has no place in a page shared with everyone.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Router, get
from litestar.params import FromPath
from litestar.response import Template

from portal.db import database_now, read_transaction
from portal.domain.rounds.phase import RoundPhase
from portal.domain.seats.listings import SeatPage, public_seat_list, public_seat_page
from portal.web import feeds
from portal.web.common import settings_of
from portal.web.feeds import SITE_NAME


def script_json(data: Any) -> str:
    """JSON that is safe inside <script>: `</script>` or `<!--` in a field cannot end the block."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_REMOTE_WORDS = ("online", "remote", "hybrid", "virtual")


def job_posting(page: SeatPage, base_url: str) -> dict[str, Any]:
    """schema.org JobPosting for search engines' job listings."""
    seat, current = page.seat, page.round
    url = f"{base_url}/seats/{seat['slug']}"
    description = "\n\n".join(part for part in (seat["summary"], seat["description"]) if part)
    posted = (
        seat["created_at"]
        if current is None or current.phase is RoundPhase.upcoming
        else current.opens_at
    )
    data: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "JobPosting",
        "title": seat["title"],
        "description": description or seat["title"],
        "url": url,
        "identifier": {"@type": "PropertyValue", "name": SITE_NAME, "value": seat["slug"]},
        "datePosted": posted.isoformat(),
        # A seat is a part-time appointment, usually paid per day or by expenses.
        "employmentType": ["PART_TIME", "CONTRACTOR"],
        "hiringOrganization": {"@type": "Organization", "name": SITE_NAME, "sameAs": base_url},
        "directApply": False,
    }
    if current is not None:
        data["validThrough"] = current.closes_at.isoformat()
    location = seat["location"].strip()
    if location:
        data["jobLocation"] = {
            "@type": "Place",
            "address": {
                "@type": "PostalAddress",
                "addressLocality": location,
                "addressCountry": "GB",
            },
        }
        if any(word in location.lower() for word in _REMOTE_WORDS):
            data["jobLocationType"] = "TELECOMMUTE"
            data["applicantLocationRequirements"] = {"@type": "Country", "name": "United Kingdom"}
    if seat["time_commitment"]:
        data["workHours"] = seat["time_commitment"]
    if seat["eligibility"]:
        data["qualifications"] = seat["eligibility"]
    return data


@get("/", name="home", cache=True)
async def home() -> Template:
    async with read_transaction():
        now = await database_now()
        listing = await public_seat_list(now)
    return Template("public/seat_list.html", context={"listing": listing, "now": now})


@get("/seats/{slug:str}", name="seat", cache=True)
async def seat_page(request: Request, slug: FromPath[str]) -> Template:
    async with read_transaction():
        now = await database_now()
        page = await public_seat_page(slug, now)
    base_url = settings_of(request).base_url
    return Template(
        "public/seat_detail.html",
        context={"page": page, "now": now, "json_ld": script_json(job_posting(page, base_url))},
    )


router = Router(
    path="/",
    route_handlers=[home, seat_page, feeds.open_seats_feed, feeds.round_closing_calendar],
    include_in_schema=False,
    opt={"public": True, "exclude_from_csrf": True},
)
