"""The Atom feed of open seats and each round's closing-time calendar file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from icalendar import Calendar

from portal import db
from portal.domain.rounds.entry import ExtensionInput
from portal.domain.rounds.times import extend_round
from portal.domain.timerules import utcnow
from tests.factories import make_seat, run
from tests.web.test_public_pages import ACTOR, HOSTILE, open_round, ten_am_in_london

ATOM = "{http://www.w3.org/2005/Atom}"


def feed_entries(client) -> list[ET.Element]:
    response = client.get("/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root.findall(f"{ATOM}entry")


def calendar_of(client, round_id: int) -> Calendar:
    response = client.get(f"/rounds/{round_id}/closing.ics")
    assert response.status_code == 200, response.text
    return Calendar.from_ical(response.content)


# --- the feed ----------------------------------------------------------------------------


def test_feed_lists_only_open_published_seats_linking_to_their_pages(client):
    now = utcnow()
    run(
        make_seat(
            "Open seat",
            slug="open-seat",
            rounds=[open_round(now)],
            summary="Now taking applications.",
            actor=ACTOR,
        )
    )
    run(
        make_seat(
            "Soon seat", rounds=[(now + timedelta(days=5), now + timedelta(days=9))], actor=ACTOR
        )
    )
    run(
        make_seat(
            "Closed seat", rounds=[(now - timedelta(days=9), now - timedelta(days=5))], actor=ACTOR
        )
    )
    run(make_seat("Draft seat", published=False, rounds=[open_round(now)], actor=ACTOR))

    entries = feed_entries(client)

    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Open seat"]
    entry = entries[0]
    assert entry.find(f"{ATOM}link").get("href") == "http://testserver.local/seats/open-seat"
    assert entry.findtext(f"{ATOM}id") == "http://testserver.local/seats/open-seat"
    summary = entry.findtext(f"{ATOM}summary")
    assert (
        "Now taking applications." in summary and "Apply by " in summary and "(UK time)" in summary
    )


def test_feed_reads_soonest_closing_first(client):
    now = utcnow()
    run(
        make_seat(
            "Closes later", rounds=[(now - timedelta(days=1), now + timedelta(days=9))], actor=ACTOR
        )
    )
    run(
        make_seat(
            "Closes sooner",
            rounds=[(now - timedelta(days=1), now + timedelta(days=2))],
            actor=ACTOR,
        )
    )

    titles = [e.findtext(f"{ATOM}title") for e in feed_entries(client)]

    assert titles == ["Closes sooner", "Closes later"]


def test_empty_feed_is_still_a_valid_feed(client):
    assert feed_entries(client) == []


def test_feed_escapes_html_and_script_in_titles_and_summaries(client):
    run(make_seat("<script>alert(1)</script>", rounds=[open_round()], summary=HOSTILE, actor=ACTOR))

    response = client.get("/feed.atom")

    assert b"<script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content
    entry = ET.fromstring(response.content).find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "<script>alert(1)</script>"
    assert HOSTILE in entry.findtext(f"{ATOM}summary")


def test_feed_survives_control_characters_that_xml_cannot_hold(client):
    run(
        make_seat(
            "Bell\x07 and escape\x1b title",
            rounds=[open_round()],
            summary="Vertical\x0btab",
            actor=ACTOR,
        )
    )

    entries = feed_entries(client)

    assert entries[0].findtext(f"{ATOM}title") == "Bell and escape title"


# --- calendars ---------------------------------------------------------------------------


def test_round_calendar_has_one_event_at_the_closing_instant(client):
    closes = ten_am_in_london(5)
    (round_id,) = run(
        make_seat(
            "Racial equity lead",
            slug="racial-equity-lead",
            rounds=[(utcnow() - timedelta(days=1), closes)],
            actor=ACTOR,
        )
    ).rounds

    response = client.get(f"/rounds/{round_id}/closing.ics")

    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="closing-time-racial-equity-lead-{round_id}.ics"'
    )
    assert (
        b"DTSTART:" in response.content
        and closes.strftime("%Y%m%dT%H%M%SZ").encode() in response.content
    )
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert event.decoded("dtstart") == closes
    assert str(event["summary"]) == "Closing time: Racial equity lead"
    assert str(event["url"]) == "http://testserver.local/seats/racial-equity-lead"
    assert "dtstamp" in event
    alarms = event.walk("VALARM")
    assert len(alarms) == 1 and alarms[0].decoded("trigger") == -timedelta(days=1)


def test_round_calendar_uid_is_stable_and_sequence_grows_when_extended(client):
    now = utcnow()
    (round_id,) = run(make_seat("Seat", rounds=[open_round(now)], actor=ACTOR)).rounds
    first = calendar_of(client, round_id).walk("VEVENT")[0]
    later = now + timedelta(days=20)

    async def extend() -> None:
        async with db.write_transaction():
            await extend_round(
                round_id,
                ExtensionInput(closes_at=later, reason="More time for small organisations"),
                ACTOR,
                utcnow(),
            )

    run(extend())
    second = calendar_of(client, round_id).walk("VEVENT")[0]

    assert str(first["uid"]) == str(second["uid"])
    assert second.decoded("dtstart") == later.replace(microsecond=0)  # calendars keep whole seconds
    assert int(second["sequence"]) > int(first["sequence"])


def test_round_calendar_cannot_be_broken_by_a_hostile_title(client):
    (round_id,) = run(
        make_seat(
            "Evil\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:injected <script>",
            slug="evil",
            rounds=[open_round()],
            actor=ACTOR,
        )
    ).rounds

    response = client.get(f"/rounds/{round_id}/closing.ics")

    lines = response.content.split(b"\r\n")  # the newlines in the title are escaped as text
    assert lines.count(b"BEGIN:VEVENT") == 1
    assert not any(line.startswith(b"SUMMARY:injected") for line in lines)
    event = Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert "injected <script>" in str(event["summary"])


def test_unknown_or_unpublished_round_calendar_is_404(client):
    (draft_round,) = run(
        make_seat("Draft", published=False, rounds=[open_round()], actor=ACTOR)
    ).rounds

    for path in (
        f"/rounds/{draft_round}/closing.ics",
        "/rounds/999/closing.ics",
        "/rounds/0/closing.ics",
        "/rounds/99999999999999999999/closing.ics",
        "/rounds/abc/closing.ics",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<h1>Page not found</h1>" in response.text
        assert "Draft" not in response.text
