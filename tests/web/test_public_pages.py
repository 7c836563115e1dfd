"""Public pages: the seat list grouped by phase, seat pages, JSON-LD, 404s and the page cache."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from portal import db
from portal.domain.audit import Actor
from portal.domain.seats.editing import SeatInput, update_seat
from portal.domain.seats.listings import public_seat_list, public_seat_page
from portal.domain.timerules import format_instant, local_to_utc, utcnow
from portal.web.common import clear_public_cache
from tests.conftest import sign_in
from tests.factories import make_seat, run

ACTOR = Actor(user_id=None, label="tests")
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">&amp;'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

RACIAL_EQUITY = dict(
    title="Racial equity lead, criminal justice voluntary sector advisory group",
    summary="A leader from an organisation focused on racially minoritised people.",
    description="The advisory group brings the sector's voice to policy.\n\nThe seat is for two years.\nQuarterly meetings.",
    eligibility="You lead a voluntary organisation whose main focus is racially minoritised people.",
    represents="Organisations led by and for racially minoritised people.",
    time_commitment="About two days a month.",
    remuneration="£250 a day; travel and care expenses paid.",
    location="Hybrid: London or online.",
    how_to_apply="Apply online before the closing time.",
)


def open_round(now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or utcnow()
    return now - timedelta(days=1), now + timedelta(days=3, hours=4, minutes=30)


def ten_am_in_london(days_ahead: int) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    return local_to_utc(datetime.combine(day, time(10, 0)), "Europe/London")


def json_ld(html: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "no JSON-LD block on the page"
    return json.loads(match.group(1))


# --- the seat list ---------------------------------------------------------------------


def test_seat_list_groups_seats_by_what_their_rounds_are_doing(client):
    now = utcnow()
    run(
        make_seat(
            "Open seat", rounds=[open_round(now)], summary="Applications are open.", actor=ACTOR
        )
    )
    run(
        make_seat(
            "Soon seat", rounds=[(now + timedelta(days=10), now + timedelta(days=30))], actor=ACTOR
        )
    )
    run(
        make_seat(
            "Closed seat", rounds=[(now - timedelta(days=30), now - timedelta(days=3))], actor=ACTOR
        )
    )
    run(
        make_seat(
            "Long closed seat",
            rounds=[(now - timedelta(days=120), now - timedelta(days=90))],
            actor=ACTOR,
        )
    )
    run(make_seat("Seat with no round", actor=ACTOR))

    page = client.get("/")

    assert page.status_code == 200
    open_part, soon_part, closed_part = _sections(page.text)
    assert "Open seat" in open_part and "Applications are open." in open_part
    assert "3 days 4 hours left" in open_part
    assert "Soon seat" in soon_part and "Opens" in soon_part
    assert "Closed seat" in closed_part
    assert "Long closed seat" not in page.text
    assert "Seat with no round" not in page.text


def _sections(html: str) -> tuple[str, str, str]:
    open_at = html.index('id="open-now"')
    soon_at = html.index('id="opening-soon"')
    closed_at = html.index('id="recently-closed"')
    return html[open_at:soon_at], html[soon_at:closed_at], html[closed_at:]


def test_seat_list_shows_closing_time_the_way_people_read_it(client):
    closes = ten_am_in_london(5)
    run(
        make_seat(
            "Racial equity lead", rounds=[(utcnow() - timedelta(days=1), closes)], actor=ACTOR
        )
    )

    page = client.get("/")

    assert (
        f'Apply by <time datetime="{closes.isoformat()}">{format_instant(closes)}</time>'
        in page.text
    )
    assert "10am on " in page.text and "(UK time)" in page.text


def test_seat_list_links_each_seat_to_its_page(client):
    run(
        make_seat(
            "Racial equity lead", slug="racial-equity-lead", rounds=[open_round()], actor=ACTOR
        )
    )

    page = client.get("/")

    assert '<a href="/seats/racial-equity-lead">Racial equity lead</a>' in page.text


def test_seat_list_with_no_seats_explains_each_empty_group(client):
    page = client.get("/")

    assert page.status_code == 200
    assert "No seats are taking applications at the moment." in page.text
    assert "No seats are due to open yet." in page.text
    assert "No seats have closed in the last 60 days." in page.text
    assert 'href="/feed.atom"' in page.text


def test_seat_list_never_shows_unpublished_seats(client):
    run(make_seat("Secret draft seat", published=False, rounds=[open_round()], actor=ACTOR))

    page = client.get("/")

    assert "Secret draft seat" not in page.text
    assert "No seats are taking applications at the moment." in page.text


def test_seat_list_shows_a_seat_once_with_its_open_round(client):
    now = utcnow()
    run(
        make_seat(
            "Racial equity lead",
            rounds=[
                (now - timedelta(days=40), now - timedelta(days=20)),
                open_round(now),
                (now + timedelta(days=50), now + timedelta(days=60)),
            ],
            actor=ACTOR,
        )
    )

    page = client.get("/")

    assert page.text.count(">Racial equity lead</a>") == 1
    open_part, _, _ = _sections(page.text)
    assert "Racial equity lead" in open_part


# Boundaries, with the clock fixed: the domain query the page uses.

FIXED_NOW = datetime(2024, 11, 18, 10, 0, tzinfo=UTC)


async def _listing_titles(now: datetime) -> dict[str, list[str]]:
    async with db.read_transaction():
        listing = await public_seat_list(now)
    return {
        "open": [s.title for s in listing.open],
        "upcoming": [s.title for s in listing.upcoming],
        "closed": [s.title for s in listing.recently_closed],
    }


def test_round_opening_exactly_now_is_open_and_closing_exactly_now_is_closed(settings):
    second = timedelta(seconds=1)
    run(make_seat("Opens now", rounds=[(FIXED_NOW, FIXED_NOW + timedelta(days=7))], actor=ACTOR))
    run(
        make_seat(
            "Opens in a second",
            rounds=[(FIXED_NOW + second, FIXED_NOW + timedelta(days=7))],
            actor=ACTOR,
        )
    )
    run(make_seat("Closes now", rounds=[(FIXED_NOW - timedelta(days=7), FIXED_NOW)], actor=ACTOR))
    run(
        make_seat(
            "Closes in a second",
            rounds=[(FIXED_NOW - timedelta(days=7), FIXED_NOW + second)],
            actor=ACTOR,
        )
    )

    groups = run(_listing_titles(FIXED_NOW))

    assert groups["open"] == ["Closes in a second", "Opens now"]
    assert groups["upcoming"] == ["Opens in a second"]
    assert groups["closed"] == ["Closes now"]


def test_recently_closed_means_within_the_last_60_days(settings):
    run(
        make_seat(
            "Closed 60 days ago",
            rounds=[(FIXED_NOW - timedelta(days=90), FIXED_NOW - timedelta(days=60))],
            actor=ACTOR,
        )
    )
    run(
        make_seat(
            "Closed 60 days and a second ago",
            rounds=[(FIXED_NOW - timedelta(days=90), FIXED_NOW - timedelta(days=60, seconds=1))],
            actor=ACTOR,
        )
    )

    groups = run(_listing_titles(FIXED_NOW))

    assert groups["closed"] == ["Closed 60 days ago"]


def test_groups_are_ordered_soonest_first_and_latest_closed_first(settings):
    run(
        make_seat(
            "Closes later",
            rounds=[(FIXED_NOW - timedelta(days=1), FIXED_NOW + timedelta(days=9))],
            actor=ACTOR,
        )
    )
    run(
        make_seat(
            "Closes sooner",
            rounds=[(FIXED_NOW - timedelta(days=1), FIXED_NOW + timedelta(days=2))],
            actor=ACTOR,
        )
    )
    run(
        make_seat(
            "Closed long ago",
            rounds=[(FIXED_NOW - timedelta(days=40), FIXED_NOW - timedelta(days=30))],
            actor=ACTOR,
        )
    )
    run(
        make_seat(
            "Closed yesterday",
            rounds=[(FIXED_NOW - timedelta(days=40), FIXED_NOW - timedelta(days=1))],
            actor=ACTOR,
        )
    )

    groups = run(_listing_titles(FIXED_NOW))

    assert groups["open"] == ["Closes sooner", "Closes later"]
    assert groups["closed"] == ["Closed yesterday", "Closed long ago"]


def _query_count(coro_fn) -> int:
    async def measure() -> int:
        engine = db.current_engine()
        async with db.read_transaction():
            before = engine.query_id
            await coro_fn()
            return engine.query_id - before

    return run(measure())


def test_public_reads_do_not_grow_with_the_number_of_seats(settings):
    run(
        make_seat(
            "First",
            slug="first",
            rounds=[open_round()],
            criteria=[("Skill", "", 1)],
            questions=[("Why?", 100, True)],
            actor=ACTOR,
        )
    )
    one_seat = _query_count(lambda: public_seat_list(utcnow()))
    for n in range(5):
        run(
            make_seat(
                f"Seat {n}",
                rounds=[
                    open_round(),
                    (utcnow() + timedelta(days=40), utcnow() + timedelta(days=50)),
                ],
                actor=ACTOR,
            )
        )

    many_seats = _query_count(lambda: public_seat_list(utcnow()))
    seat_page = _query_count(lambda: public_seat_page("first", utcnow()))

    assert one_seat == many_seats == 1
    assert seat_page <= 4


# --- the seat page ---------------------------------------------------------------------


def test_seat_page_shows_everything_an_applicant_needs(client):
    closes = ten_am_in_london(6)
    (round_id,) = run(
        make_seat(
            slug="racial-equity-lead",
            rounds=[(utcnow() - timedelta(days=2), closes)],
            criteria=[
                ("Lived and organisational connection", "Show how you are connected.", 3),
                ("Criminal justice expertise", "Service delivery or policy.", 1),
            ],
            questions=[("Why do you want this seat?", 400, True), ("Anything else?", 200, False)],
            **RACIAL_EQUITY,
            actor=ACTOR,
        )
    ).rounds

    page = client.get("/seats/racial-equity-lead")

    assert page.status_code == 200
    text = page.text
    assert f"<h1>{RACIAL_EQUITY['title']}</h1>" in text
    for value in (
        "A leader from an organisation focused on racially minoritised people.",
        "You lead a voluntary organisation",
        "Organisations led by and for racially minoritised people.",
        "About two days a month.",
        "£250 a day; travel and care expenses paid.",
        "Hybrid: London or online.",
        "Apply online before the closing time.",
    ):
        assert value in text, value
    # Paragraphs from blank lines, line breaks from single newlines.
    assert "<p>The advisory group brings the sector&#39;s voice to policy.</p>" in text
    assert "<p>The seat is for two years.<br>Quarterly meetings.</p>" in text
    # Criteria with guidance and their relative importance.
    assert "Lived and organisational connection" in text and "Show how you are connected." in text
    assert (
        "Counts for about 75% of the score" in text and "Counts for about 25% of the score" in text
    )
    # Questions with word limits.
    assert "Why do you want this seat?" in text and "Up to 400 words." in text
    assert "Up to 200 words; optional." in text
    # The round: closing time in words, time remaining, a calendar link.
    assert format_instant(closes) in text and "10am on " in text
    assert " left." in text
    assert f'href="/rounds/{round_id}/closing.ics"' in text


def test_seat_page_with_equal_weights_says_criteria_count_equally(client):
    run(
        make_seat(
            "Seat",
            slug="seat",
            rounds=[open_round()],
            criteria=[("A", "", 2), ("B", "", 2)],
            actor=ACTOR,
        )
    )

    page = client.get("/seats/seat")

    assert "They all count equally." in page.text
    assert "Counts for about" not in page.text


def test_seat_page_of_an_upcoming_round_says_when_it_opens(client):
    opens = ten_am_in_london(10)
    run(make_seat("Seat", slug="seat", rounds=[(opens, opens + timedelta(days=20))], actor=ACTOR))

    days = (opens - utcnow()).days  # 9 after 10am UK time, 10 before it
    page = client.get("/seats/seat")

    assert "Opening soon" in page.text
    assert (
        f'Opens <time datetime="{opens.isoformat()}">{format_instant(opens)}</time> (in {days} days'
        in page.text
    )


def test_seat_page_of_a_closed_round_says_it_has_closed(client):
    closes = utcnow() - timedelta(days=2)
    run(make_seat("Seat", slug="seat", rounds=[(closes - timedelta(days=20), closes)], actor=ACTOR))

    page = client.get("/seats/seat")

    assert (
        f'Applications closed <time datetime="{closes.isoformat()}">{format_instant(closes)}</time>'
        in page.text
    )
    assert "closing.ics" not in page.text


def test_seat_page_without_a_round_says_so(client):
    run(make_seat("Seat", slug="seat", actor=ACTOR))

    page = client.get("/seats/seat")

    assert page.status_code == 200
    assert "This seat is not taking applications at the moment" in page.text


def test_seat_page_has_job_posting_json_ld(client):
    closes = ten_am_in_london(6)
    run(
        make_seat(
            slug="racial-equity-lead",
            rounds=[(utcnow() - timedelta(days=2), closes)],
            **RACIAL_EQUITY,
            actor=ACTOR,
        )
    )

    data = json_ld(client.get("/seats/racial-equity-lead").text)

    assert data["@context"] == "https://schema.org/"
    assert data["@type"] == "JobPosting"
    assert data["title"] == RACIAL_EQUITY["title"]
    assert RACIAL_EQUITY["summary"] in data["description"]
    assert datetime.fromisoformat(data["validThrough"]) == closes
    assert date.fromisoformat(data["datePosted"][:10]) <= datetime.now(UTC).date()
    assert "PART_TIME" in data["employmentType"]
    assert data["hiringOrganization"]["@type"] == "Organization"
    assert data["url"] == "http://testserver.local/seats/racial-equity-lead"
    assert data["jobLocationType"] == "TELECOMMUTE"


def test_unknown_seat_gets_the_404_page_in_the_site_style(client):
    page = client.get("/seats/no-such-seat")

    assert page.status_code == 404
    assert "<h1>Page not found</h1>" in page.text
    assert 'class="site-header"' in page.text
    assert "Go to the list of seats" in page.text


def test_overlong_or_odd_slug_gets_404_not_500(client):
    for path in (
        "/seats/" + "a" * 5000,
        "/seats/%00",
        "/seats/%3Cscript%3E",
        "/seats/x'%20OR%201=1--",
    ):
        assert client.get(path).status_code == 404, path


def test_unpublished_seat_page_is_404(client):
    run(
        make_seat(
            "Secret draft seat", slug="secret", published=False, rounds=[open_round()], actor=ACTOR
        )
    )

    page = client.get("/seats/secret")

    assert page.status_code == 404
    assert "Secret draft seat" not in page.text


# --- hostile text ----------------------------------------------------------------------


def test_html_and_script_in_every_seat_field_are_escaped_on_every_page(client):
    text_fields = [f.name for f in fields(SeatInput) if f.name not in ("title", "slug")]
    run(
        make_seat(
            HOSTILE,
            slug="hostile",
            rounds=[open_round()],
            criteria=[(HOSTILE, HOSTILE, 2), ("Other", "", 1)],
            questions=[(HOSTILE, 100, True)],
            **{name: f"{name}: {HOSTILE}" for name in text_fields},
            actor=ACTOR,
        )
    )

    for path in ("/", "/seats/hostile"):
        page = client.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text, path
        assert 'onerror="alert' not in page.text, path
        assert ESCAPED in page.text, path
    seat_page = client.get("/seats/hostile").text
    for name in text_fields:
        assert f"{name}: {ESCAPED}" in seat_page, name


def test_script_end_tag_in_a_title_cannot_break_out_of_the_json_ld(client):
    title = '</script><script>alert(1)</script><!-- & "quotes"'
    run(make_seat(title, slug="breakout", rounds=[open_round()], description=HOSTILE, actor=ACTOR))

    html = client.get("/seats/breakout").text

    # The only </script> is the one closing the JSON-LD block.
    assert html.count("</script>") == 1
    data = json_ld(html)
    assert data["title"] == title
    assert HOSTILE in data["description"]


# --- the page cache --------------------------------------------------------------------


def test_cached_page_is_served_until_the_public_cache_is_cleared(make_client):
    client = make_client(public_cache_seconds=30)
    seat_id = run(make_seat("First title", slug="seat", rounds=[open_round()], actor=ACTOR)).seat_id
    assert "First title" in client.get("/").text
    assert "First title" in client.get("/seats/seat").text

    async def rename() -> None:
        async with db.write_transaction():
            await update_seat(
                seat_id, SeatInput(title="Second title", slug="seat"), ACTOR, utcnow()
            )

    run(rename())

    assert "First title" in client.get("/").text  # still the cached copy
    client.blocking_portal.call(clear_public_cache, SimpleNamespace(app=client.app))
    assert "Second title" in client.get("/").text
    assert "Second title" in client.get("/seats/seat").text


def test_cached_page_never_carries_a_cookie_from_the_first_visitor(make_client, admin_id):
    client = make_client(public_cache_seconds=30)
    seat_id = run(make_seat("First title", slug="seat", rounds=[open_round()], actor=ACTOR)).seat_id
    assert sign_in(client, "ada@example.org").status_code in (302, 303)
    paths = ("/", "/seats/seat", "/feed.atom")
    for path in paths:
        assert client.get(path).status_code == 200  # a signed-in admin fills the cache

    async def rename() -> None:
        async with db.write_transaction():
            await update_seat(
                seat_id, SeatInput(title="Second title", slug="seat"), ACTOR, utcnow()
            )

    run(rename())
    client.cookies.clear()  # now an anonymous visitor, on the same app and cache

    for path in paths:
        response = client.get(path)
        assert "First title" in response.text, path  # proof it came from the cache
        assert "set-cookie" not in response.headers, path
        assert "no-store" not in response.headers.get("cache-control", ""), path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
    assert not client.cookies


def test_errors_are_not_cached(make_client):
    client = make_client(public_cache_seconds=30)
    assert client.get("/seats/later").status_code == 404

    run(make_seat("Later", slug="later", rounds=[open_round()], actor=ACTOR))

    assert client.get("/seats/later").status_code == 200


def test_query_strings_share_the_cached_page(make_client):
    # Otherwise /?x=1, /?x=2, ... would each fill the cache with a copy of the page.
    client = make_client(public_cache_seconds=30)
    seat_id = run(make_seat("First title", slug="seat", rounds=[open_round()], actor=ACTOR)).seat_id
    assert "First title" in client.get("/?x=1").text

    async def rename() -> None:
        async with db.write_transaction():
            await update_seat(
                seat_id, SeatInput(title="Second title", slug="seat"), ACTOR, utcnow()
            )

    run(rename())

    assert "First title" in client.get("/?x=2").text
