"""The audit log page: who did what, when and to which record; filters by round and action;
paging; hostile query values."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal import db
from portal.domain.audit import Actor, AuditFilter, list_events, parse_audit_filter, record_event
from portal.domain.errors import DomainError
from tests.conftest import post_form
from tests.factories import make_round, make_seat, run
from tests.web.test_admin_seats import ADMIN_SEAT, HOSTILE, seat_data


def add_events(
    count: int, *, start: datetime, action: str = "test.event", round_id: int | None = None
) -> None:
    async def go() -> None:
        async with db.write_transaction():
            for i in range(count):
                await record_event(
                    Actor(None, "system"),
                    action,
                    "seat",
                    i + 1,
                    start + timedelta(minutes=i),
                    round_id=round_id,
                    detail={"n": i},
                )

    run(go())


def rows(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S) if body else []


def test_audit_page_shows_who_did_what_when_and_which_record(admin_client):
    response = post_form(
        admin_client, "/admin/seats/new", seat_data(title="Audited seat"), follow_redirects=False
    )
    seat_id = response.headers["location"].split("?")[0].rsplit("/", 1)[1]

    page = admin_client.get("/admin/audit")

    assert page.status_code == 200
    first = rows(page.text)[0]
    assert "ada@example.org" in first
    assert "seat.created" in first
    assert f'href="/admin/seats/{seat_id}"' in first
    assert "Audited seat" in first
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", first)
    assert "(UK time)" in first


def test_audit_page_lists_newest_first_fifty_a_page(admin_client):
    add_events(120, start=datetime(2026, 1, 1, tzinfo=UTC))

    first = admin_client.get("/admin/audit")
    third = admin_client.get("/admin/audit?page=3")

    assert len(rows(first.text)) == 50
    assert "n:</span> 119" in rows(first.text)[0]
    assert "120 entries, page 1 of 3." in first.text
    assert 'href="/admin/audit?page=2"' in first.text and "Newer entries" not in first.text
    assert len(rows(third.text)) == 20
    assert "n:</span> 0<" in rows(third.text)[-1]
    assert "Older entries" not in third.text and 'href="/admin/audit?page=2"' in third.text


def test_page_numbers_out_of_range_show_the_nearest_page(admin_client):
    add_events(101, start=datetime(2026, 1, 1, tzinfo=UTC))
    cases = [
        ("999999999999999999999999", "page 3 of 3"),
        ("4", "page 3 of 3"),
        ("abc", "page 1 of 3"),
        ("-1", "page 1 of 3"),
        ("0", "page 1 of 3"),
        ("", "page 1 of 3"),
        ("1.5", "page 1 of 3"),
    ]
    for page, shown in cases:
        response = admin_client.get("/admin/audit", params={"page": page})

        assert response.status_code == 200, page
        assert shown in response.text, page
        assert rows(response.text), page


def test_filter_by_round_shows_only_that_rounds_events(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    first_round = run(
        make_round(
            seat=seat_id, opens_at=timedelta(days=1), closes_at=timedelta(days=5), grace_minutes=10
        )
    ).round_id
    second_round = run(
        make_round(
            seat=seat_id,
            opens_at=timedelta(days=10),
            closes_at=timedelta(days=15),
            grace_minutes=10,
        )
    ).round_id
    add_events(
        3, start=datetime(2026, 1, 1, tzinfo=UTC), action="other.thing", round_id=second_round
    )

    page = admin_client.get(f"/admin/audit?round={first_round}")

    assert page.status_code == 200
    assert len(rows(page.text)) == 1
    assert "round.created" in rows(page.text)[0]
    assert f'<option value="{first_round}" selected>' in page.text
    assert "1 entry." in page.text
    other = admin_client.get(f"/admin/audit?round={second_round}")
    assert len(rows(other.text)) == 4


def test_filter_by_action_and_round_together_keeps_both_in_page_links(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=1),
            closes_at=timedelta(days=5),
            grace_minutes=10,
        )
    ).round_id
    add_events(60, start=datetime(2026, 1, 1, tzinfo=UTC), action="round.poked", round_id=round_id)
    add_events(5, start=datetime(2026, 1, 1, tzinfo=UTC), action="round.poked")

    page = admin_client.get(f"/admin/audit?round={round_id}&action=round.poked")

    assert "60 entries, page 1 of 2." in page.text
    assert f'href="/admin/audit?round={round_id}&amp;action=round.poked&amp;page=2"' in page.text
    assert '<option value="round.poked" selected>' in page.text


def test_hostile_filter_values_get_a_clear_400_page(admin_client):
    cases = [
        ("round=abc", "Choose a round from the list"),
        ("round=-1", "Choose a round from the list"),
        ("round=0", "Choose a round from the list"),
        ("round=99999999999999999999999", "Choose a round from the list"),
        ("round=%3Cscript%3Ealert(1)%3C/script%3E", "Choose a round from the list"),
        ("action=" + "a" * 65, "Choose an action from the list."),
        ("action=%00bad", "Choose an action from the list."),
    ]
    for query, message in cases:
        response = admin_client.get(f"/admin/audit?{query}")

        assert response.status_code == 400, query
        assert message in response.text, query
        assert "<script>alert" not in response.text


def test_unknown_round_or_action_shows_no_entries(admin_client):
    run(make_seat(**ADMIN_SEAT))

    assert "No entries match." in admin_client.get("/admin/audit?round=424242").text
    response = admin_client.get("/admin/audit", params={"action": HOSTILE[:60]})
    assert response.status_code == 200
    assert "No entries match." in response.text
    assert "<script>alert" not in response.text


def test_html_in_recorded_details_is_escaped(admin_client):
    post_form(admin_client, "/admin/seats/new", seat_data(title=HOSTILE))

    page = admin_client.get("/admin/audit")

    assert "&lt;script&gt;alert(" in page.text
    assert "<script>alert" not in page.text


def test_list_events_clamps_the_page_and_counts(settings):
    add_events(7, start=datetime(2026, 1, 1, tzinfo=UTC))

    result = run(list_events(AuditFilter(page=10**9), per_page=5))

    assert (result.page, result.pages, result.total, len(result.events)) == (2, 2, 7, 2)
    assert result.has_previous and not result.has_next


def test_parse_audit_filter_reads_and_refuses():
    assert parse_audit_filter(" 12 ", "seat.created", "3") == AuditFilter(12, "seat.created", 3)
    assert parse_audit_filter("", "", "") == AuditFilter(None, None, 1)
    with pytest.raises(DomainError):
        parse_audit_filter("12abc", "", "")
