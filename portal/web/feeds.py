"""The Atom feed of open seats and each round's closing-time calendar file.

Both are built by libraries that escape for their format (feedgen through lxml,
icalendar by RFC 5545 rules). Control characters are removed first: XML cannot
carry them at all, and lxml refuses the whole document if one slips in.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from icalendar import Alarm, Calendar, Event
from litestar import Request, Response, get
from litestar.params import FromPath

from portal.db import database_now, read_transaction
from portal.domain.seats.listings import (
    ListedSeat,
    RoundCalendar,
    public_round_calendar,
    public_seat_list,
)
from portal.web.common import settings_of

SITE_NAME = "Seat portal"
ATOM_MEDIA_TYPE = "application/atom+xml"
ICS_MEDIA_TYPE = "text/calendar"  # Litestar adds "; charset=utf-8"
REMINDER_BEFORE = timedelta(days=1)

# Characters XML 1.0 cannot hold (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def plain(text: str) -> str:
    return _NOT_XML.sub("", text or "")


def atom_feed(seats: list[ListedSeat], base_url: str, now: datetime) -> bytes:
    feed = FeedGenerator()
    feed.id(f"{base_url}/")
    feed.title(f"Open seats – {SITE_NAME}")
    feed.subtitle("Representative seats taking applications now, with their closing times.")
    feed.author({"name": SITE_NAME, "uri": f"{base_url}/"})
    feed.link(href=f"{base_url}/feed.atom", rel="self", type=ATOM_MEDIA_TYPE)
    feed.link(href=f"{base_url}/", rel="alternate", type="text/html")
    feed.language("en-GB")
    feed.updated(max((_entry_updated(seat) for seat in seats), default=now))
    # feedgen writes entries newest-added first; add the latest-closing first so the
    # feed reads soonest-closing at the top.
    for seat in reversed(seats):
        url = f"{base_url}/seats/{seat.slug}"
        entry = feed.add_entry()
        entry.id(url)
        entry.title(plain(seat.title))
        entry.link(href=url, rel="alternate", type="text/html")
        entry.published(seat.round.opens_at)
        entry.updated(_entry_updated(seat))
        closing = f"Apply by {seat.round.closes_text}."
        entry.summary(plain(f"{seat.summary}\n\n{closing}" if seat.summary else closing))
    return feed.atom_str(pretty=True)


def _entry_updated(seat: ListedSeat) -> datetime:
    # The seat entered the feed when its round opened; later edits to the seat count too.
    return max(seat.updated_at, seat.round.opens_at)


def closing_calendar(item: RoundCalendar, base_url: str, now: datetime) -> bytes:
    url = f"{base_url}/seats/{item.seat_slug}"
    title = plain(item.seat_title)
    calendar = Calendar()
    calendar.add("prodid", f"-//{SITE_NAME}//Closing times//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    # Stable per round, so importing the file again updates the event instead of adding one.
    event.add(
        "uid", f"round-{item.round.id}-closing@{urlsplit(base_url).hostname or 'seat-portal'}"
    )
    event.add("dtstamp", now)
    event.add("sequence", item.sequence)
    event.add("dtstart", item.round.closes_at)  # aware UTC: written as ...Z
    event.add("summary", f"Closing time: {title}")
    event.add("description", f"Applications for {title} close at {item.round.closes_text}.\n{url}")
    event.add("url", url)
    event.add("transp", "TRANSPARENT")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -REMINDER_BEFORE)
    alarm.add(
        "description", f"Applications for {title} close tomorrow at {item.round.closes_text}."
    )
    event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()


def calendar_filename(item: RoundCalendar) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "", item.seat_slug.lower())[:80].strip("-")
    return f"closing-time-{slug or 'round'}-{item.round.id}.ics"


@get("/feed.atom", name="feed", cache=True)
async def open_seats_feed(request: Request) -> Response[bytes]:
    async with read_transaction():
        now = await database_now()
        listing = await public_seat_list(now)
    body = atom_feed(listing.open, settings_of(request).base_url, now)
    return Response(body, media_type=ATOM_MEDIA_TYPE)


@get("/rounds/{round_id:int}/closing.ics", name="round_calendar", cache=True)
async def round_closing_calendar(request: Request, round_id: FromPath[int]) -> Response[bytes]:
    async with read_transaction():
        now = await database_now()
        item = await public_round_calendar(round_id, now)
    return Response(
        closing_calendar(item, settings_of(request).base_url, now),
        media_type=ICS_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{calendar_filename(item)}"'},
    )
