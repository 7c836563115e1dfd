"""Admin round pages: create a round in local time (clock changes refused), open now,
close now, extend with a reason, stage moves after closing, and hostile input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.tables import AuditEvent, DeadlineExtension, Round
from tests.conftest import form_token, post_form
from tests.factories import make_round, make_seat, run
from tests.web.test_admin_seats import ADMIN_SEAT, criteria_of, error_summary

# Europe/London in 2027: clocks go forward at 1am on 28 March, back at 2am on 31 October.
SPRING_GAP = ("2027-03-28", "01:30")
AUTUMN_FOLD = ("2027-10-31", "01:30")


def round_form(**changes: str) -> dict[str, str]:
    data = {
        "timezone": "Europe/London",
        "opens_date": "2027-01-11",
        "opens_time": "09:00",
        "closes_date": "2027-07-12",
        "closes_time": "10:00",
        "grace_minutes": "10",
        "anonymised": "1",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def round_row(round_id: int) -> dict:
    return run(Round.select().where(Round.id == round_id).first())


def actions_of(round_id: int) -> list[str]:
    rows = run(
        AuditEvent.select(AuditEvent.action)
        .where(AuditEvent.round == round_id)
        .order_by(AuditEvent.id)
    )
    return [r["action"] for r in rows]


# ---- Creating a round -------------------------------------------------------------


def test_new_round_form_has_the_defaults(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id

    page = admin_client.get(f"/admin/seats/{seat_id}/rounds/new")

    assert page.status_code == 200
    assert '<option value="Europe/London" selected>' in page.text
    assert re.search(r'<input id="grace_minutes"[^>]*value="10"', page.text)
    assert "never advertised" in page.text
    assert re.search(r'<input[^>]*id="anonymised"[^>]*\bchecked\b', page.text)
    # Until nominations exist the setting does nothing, so it is not offered (issue 10).
    assert "nomination_required" not in page.text and "nomination" not in page.text.lower()


def test_create_round_in_uk_time_stores_utc_and_shows_the_local_time(admin_client, admin_id):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id

    response = post_form(
        admin_client,
        f"/admin/seats/{seat_id}/rounds/new",
        round_form(anonymised=None, nomination_required="1", grace_minutes="5"),
        follow_redirects=False,
    )

    assert response.status_code == 303
    round_id = int(response.headers["location"].split("?")[0].rsplit("/", 1)[1])
    row = round_row(round_id)
    assert row["closes_at"] == datetime(2027, 7, 12, 9, 0, tzinfo=UTC)  # 10am BST
    assert row["opens_at"] == datetime(2027, 1, 11, 9, 0, tzinfo=UTC)  # 9am GMT
    # A hand-made form that still sends the old checkbox changes nothing.
    assert (row["anonymised"], row["nomination_required"], row["grace_minutes"]) == (
        False,
        False,
        5,
    )
    page = admin_client.get(response.headers["location"])
    assert "The round was created." in page.text
    assert "Nomination" not in page.text
    assert "10am on Monday 12 July 2027 (UK time)" in page.text
    assert "Upcoming" in page.text
    assert actions_of(round_id) == ["round.created"]
    assert (
        run(AuditEvent.select(AuditEvent.actor).where(AuditEvent.round == round_id).first())[
            "actor"
        ]
        == admin_id
    )


def test_create_round_in_another_zone_uses_that_zone(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id

    response = post_form(
        admin_client,
        f"/admin/seats/{seat_id}/rounds/new",
        round_form(timezone="Europe/Brussels"),
        follow_redirects=False,
    )

    round_id = int(response.headers["location"].split("?")[0].rsplit("/", 1)[1])
    assert round_row(round_id)["closes_at"] == datetime(2027, 7, 12, 8, 0, tzinfo=UTC)
    assert (
        "10am on Monday 12 July 2027 (Europe/Brussels)"
        in admin_client.get(f"/admin/rounds/{round_id}").text
    )


@pytest.mark.parametrize(
    "day,clock,message",
    [
        (
            *SPRING_GAP,
            "1:30am on Sunday 28 March 2027 does not exist in UK time: the clocks go forward then.",
        ),
        (
            *AUTUMN_FOLD,
            "1:30am on Sunday 31 October 2027 happens twice in UK time: the clocks go back then.",
        ),
    ],
)
def test_local_time_at_a_clock_change_is_refused_with_the_reason(admin_client, day, clock, message):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id

    response = post_form(
        admin_client,
        f"/admin/seats/{seat_id}/rounds/new",
        round_form(closes_date=day, closes_time=clock),
    )

    assert response.status_code == 400
    assert message in error_summary(response.text)
    assert 'href="#closes_time"' in response.text
    assert f'value="{day}"' in response.text and f'value="{clock}"' in response.text
    assert run(Round.count()) == 0


MALFORMED_ENTRIES = [
    ({"opens_date": "2027-13-01"}, "opens_date", "Enter the date as year-month-day"),
    ({"opens_date": "tomorrow"}, "opens_date", "Enter the date as year-month-day"),
    ({"closes_date": ""}, "closes_date", "Enter the date as year-month-day"),
    ({"closes_date": "0001-01-01"}, "closes_date", "Enter a year from 2000 to 2100."),
    (
        {"closes_date": "9999-12-31", "closes_time": "23:59"},
        "closes_date",
        "Enter a year from 2000 to 2100.",
    ),
    ({"closes_time": "25:00"}, "closes_time", "Enter the time as hours:minutes"),
    ({"closes_time": "10:00+05:00"}, "closes_time", "Enter the time as hours:minutes"),
    ({"opens_time": "<script>alert(1)</script>"}, "opens_time", "Enter the time as hours:minutes"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "is not a time zone we know"),
    ({"timezone": "x" * 5000}, "timezone", "is not a time zone we know"),
    ({"grace_minutes": "abc"}, "grace_minutes", "whole number of minutes from 0 to 60"),
    ({"grace_minutes": "61"}, "grace_minutes", "whole number of minutes from 0 to 60"),
    ({"grace_minutes": "-1"}, "grace_minutes", "whole number of minutes from 0 to 60"),
    ({"grace_minutes": "9" * 5000}, "grace_minutes", "whole number of minutes from 0 to 60"),
    (
        {"closes_date": "2027-01-10"},
        "closes_date",
        "The closing time must be after the opening time.",
    ),
    (
        {"opens_date": "2020-01-01", "closes_date": "2020-02-01"},
        "closes_date",
        "The closing time must be in the future.",
    ),
]


def test_malformed_round_entry_gets_a_field_error_and_saves_nothing(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    token = form_token(admin_client, f"/admin/seats/{seat_id}/rounds/new")

    for changes, field, message in MALFORMED_ENTRIES:
        response = admin_client.post(
            f"/admin/seats/{seat_id}/rounds/new",
            data={**round_form(**changes), "_csrf_token": token},
        )

        assert response.status_code == 400, changes
        assert message in error_summary(response.text), changes
        assert f'href="#{field}"' in response.text and f'id="{field}"' in response.text, changes
        assert "<script>alert" not in response.text, changes
    assert run(Round.count()) == 0


def test_several_entry_problems_are_reported_together(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id

    response = post_form(
        admin_client,
        f"/admin/seats/{seat_id}/rounds/new",
        round_form(opens_date="x", closes_time="y", grace_minutes="z"),
    )

    summary = error_summary(response.text)
    assert "Opening date:" in summary and "Closing time:" in summary and "grace period" in summary


def test_round_pages_of_unknown_ids_get_the_404_page(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    token = form_token(admin_client, f"/admin/seats/{seat_id}")
    huge = "9" * 30

    for path in [
        "/admin/seats/999999/rounds/new",
        f"/admin/seats/{huge}/rounds/new",
        "/admin/rounds/999999",
        f"/admin/rounds/{huge}",
        "/admin/rounds/999999/close",
        "/admin/rounds/999999/open",
        "/admin/rounds/999999/extend",
        "/admin/rounds/abc",
    ]:
        assert admin_client.get(path).status_code == 404, path
    posts = [
        ("/admin/seats/999999/rounds/new", round_form()),
        ("/admin/rounds/999999/open-now", {"confirm": "1"}),
        ("/admin/rounds/999999/close", {"confirm": "1"}),
        (f"/admin/rounds/{huge}/close", {}),
        (
            "/admin/rounds/999999/extend",
            {"closes_date": "2027-01-01", "closes_time": "10:00", "reason": "x"},
        ),
        ("/admin/rounds/999999/stage", {"stage": "scoring"}),
        ("/admin/rounds/999999/stage", {"stage": "bogus"}),
    ]
    for path, data in posts:
        response = admin_client.post(path, data={**data, "_csrf_token": token})
        assert response.status_code == 404, path
        assert "There is no such" in response.text, path
    assert run(Round.count()) == 0


# ---- Open now, close now ----------------------------------------------------------


def test_open_now_opens_an_upcoming_round_and_locks_the_criteria(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    round_id = run(
        make_round(
            seat=seat_id, opens_at=timedelta(days=2), closes_at=timedelta(days=9), grace_minutes=10
        )
    ).round_id
    page = admin_client.get(f"/admin/rounds/{round_id}")
    assert "Open now" in page.text and "Close now" not in page.text
    ask = admin_client.get(f"/admin/rounds/{round_id}/open")
    assert "criteria and questions lock for good" in ask.text
    unconfirmed = post_form(
        admin_client,
        f"/admin/rounds/{round_id}/open-now",
        {},
        token_from=f"/admin/rounds/{round_id}/open",
    )
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.text
    assert actions_of(round_id) == ["round.created"]  # nothing happened

    response = post_form(
        admin_client,
        f"/admin/rounds/{round_id}/open-now",
        {"confirm": "1"},
        token_from=f"/admin/rounds/{round_id}/open",
    )

    assert response.status_code == 200
    assert "The round is open now." in response.text
    assert "tag-open" in response.text and "Open now" not in response.text
    assert actions_of(round_id) == ["round.created", "round.opened_now"]
    assert "locked" in admin_client.get(f"/admin/seats/{seat_id}").text


def test_open_now_on_an_open_round_is_refused_with_the_reason(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-1),
            closes_at=timedelta(days=9),
            grace_minutes=10,
        )
    ).round_id
    before = round_row(round_id)

    response = post_form(
        admin_client,
        f"/admin/rounds/{round_id}/open-now",
        {"confirm": "1"},
        token_from=f"/admin/rounds/{round_id}",
    )

    assert response.status_code == 409
    assert "This round is already open or has closed." in error_summary(response.text)
    assert round_row(round_id) == before


def test_close_now_needs_the_confirmation_box(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-1),
            closes_at=timedelta(days=9),
            grace_minutes=10,
        )
    ).round_id
    page = admin_client.get(f"/admin/rounds/{round_id}/close")
    assert "Yes, close this round to applications now" in page.text

    response = post_form(admin_client, f"/admin/rounds/{round_id}/close", {})

    assert response.status_code == 400
    assert "Tick the box to confirm" in error_summary(response.text)
    assert admin_client.get(f"/admin/rounds/{round_id}").text.count("tag-open") == 1
    assert actions_of(round_id) == ["round.created"]


def test_close_now_with_confirmation_closes_the_round(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-1),
            closes_at=timedelta(days=9),
            grace_minutes=10,
        )
    ).round_id

    response = post_form(admin_client, f"/admin/rounds/{round_id}/close", {"confirm": "1"})

    assert response.status_code == 200
    assert "The round is closed." in response.text and "tag-closed" in response.text
    assert round_row(round_id)["closes_at"] <= datetime.now(UTC)
    assert actions_of(round_id) == ["round.created", "round.closed_now"]
    again = post_form(admin_client, f"/admin/rounds/{round_id}/close", {"confirm": "1"})
    assert again.status_code == 409
    assert "Only an open round can be closed now." in again.text


# ---- Extending --------------------------------------------------------------------


def test_extend_form_shows_the_current_closing_time_in_the_rounds_zone(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    response = post_form(
        admin_client, f"/admin/seats/{seat_id}/rounds/new", round_form(), follow_redirects=False
    )
    round_path = response.headers["location"].split("?")[0]

    page = admin_client.get(f"{round_path}/extend")

    assert 'value="2027-07-12"' in page.text and 'value="10:00"' in page.text


def test_extend_needs_a_reason(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-1),
            closes_at=timedelta(days=2),
            grace_minutes=10,
        )
    ).round_id
    before = round_row(round_id)

    response = post_form(
        admin_client,
        f"/admin/rounds/{round_id}/extend",
        {"closes_date": "2027-07-12", "closes_time": "10:00", "reason": "   "},
    )

    assert response.status_code == 400
    assert "Give a reason: it is kept in the audit log." in error_summary(response.text)
    assert 'value="2027-07-12"' in response.text
    assert round_row(round_id) == before
    assert run(DeadlineExtension.count()) == 0


def test_extend_to_an_earlier_or_impossible_time_is_refused(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-1),
            closes_at=timedelta(days=2),
            grace_minutes=10,
        )
    ).round_id
    before = round_row(round_id)
    token = form_token(admin_client, f"/admin/rounds/{round_id}/extend")
    cases = [
        ("2026-01-01", "10:00", "The new closing time must be later than the current one."),
        ("not a date", "10:00", "Enter the date as year-month-day"),
        (*SPRING_GAP, "does not exist in UK time"),
        (*AUTUMN_FOLD, "happens twice in UK time"),
    ]
    for day, clock, message in cases:
        response = admin_client.post(
            f"/admin/rounds/{round_id}/extend",
            data={
                "closes_date": day,
                "closes_time": clock,
                "reason": "Kept reason",
                "_csrf_token": token,
            },
        )

        assert response.status_code == 400, day
        assert message in error_summary(response.text), day
        assert "Kept reason" in response.text
    assert round_row(round_id) == before
    assert run(DeadlineExtension.count()) == 0


def test_overlong_reason_is_refused(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-1),
            closes_at=timedelta(days=2),
            grace_minutes=10,
        )
    ).round_id

    response = post_form(
        admin_client,
        f"/admin/rounds/{round_id}/extend",
        {"closes_date": "2027-07-12", "closes_time": "10:00", "reason": "r" * 2001},
    )

    assert response.status_code == 400
    assert "Keep the reason under 2000 characters." in response.text
    assert run(DeadlineExtension.count()) == 0


def test_extend_moves_the_closing_time_and_keeps_the_history(admin_client, admin_id):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-1),
            closes_at=timedelta(days=2),
            grace_minutes=10,
        )
    ).round_id
    reason = "The form was down for two hours <script>alert(1)</script>"

    response = post_form(
        admin_client,
        f"/admin/rounds/{round_id}/extend",
        {"closes_date": "2027-07-12", "closes_time": "10:00", "reason": reason},
    )

    assert response.status_code == 200
    assert "The closing time was extended." in response.text
    assert round_row(round_id)["closes_at"] == datetime(2027, 7, 12, 9, 0, tzinfo=UTC)
    assert "The form was down for two hours &lt;script&gt;" in response.text
    assert "<script>alert" not in response.text
    assert "ada@example.org" in response.text
    assert actions_of(round_id)[-1] == "round.extended"
    extension = run(DeadlineExtension.select().first())
    assert extension["granted_by"] == admin_id and extension["reason"] == reason


def test_extend_reopens_a_round_closed_early(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-2),
            closes_at=timedelta(days=-1),
            grace_minutes=10,
        )
    ).round_id

    post_form(
        admin_client,
        f"/admin/rounds/{round_id}/extend",
        {"closes_date": "2027-07-12", "closes_time": "10:00", "reason": "Closed by mistake"},
    )

    assert "tag-open" in admin_client.get(f"/admin/rounds/{round_id}").text


# ---- Stages after closing ---------------------------------------------------------


def test_stage_moves_before_closing_are_refused_with_the_reason(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    cases = [
        (
            timedelta(days=-1),
            timedelta(days=2),
            "The round is still taking applications: close it first.",
        ),
        (timedelta(days=1), timedelta(days=2), "The round has not opened yet"),
    ]
    for opens_in, closes_in, message in cases:
        round_id = run(
            make_round(seat=seat_id, opens_at=opens_in, closes_at=closes_in, grace_minutes=10)
        ).round_id
        for stage in ("scoring", "archived"):
            response = post_form(
                admin_client,
                f"/admin/rounds/{round_id}/stage",
                {"stage": stage, "archive": "1"},
                token_from=f"/admin/rounds/{round_id}",
            )

            assert response.status_code == 409, (message, stage)
            assert message in error_summary(response.text), (message, stage)
        assert round_row(round_id)["stage"] == "collecting"
        assert actions_of(round_id) == ["round.created"]


def test_stage_moves_after_closing_go_in_order_and_are_audited(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-9),
            closes_at=timedelta(days=-1),
            grace_minutes=10,
        )
    ).round_id
    path = f"/admin/rounds/{round_id}"
    page = admin_client.get(path)
    assert "Move to scoring" in page.text and "the panel scores them" in page.text

    unconfirmed = post_form(admin_client, f"{path}/stage", {"stage": "archived"}, token_from=path)
    assert unconfirmed.status_code == 400 and "read-only for good" in unconfirmed.text
    assert round_row(round_id)["stage"] == "collecting"
    for stage in ("scoring", "shortlisted", "decided", "archived"):
        data = {"stage": stage, **({"archive": "1"} if stage == "archived" else {})}
        response = post_form(admin_client, f"{path}/stage", data, token_from=path)
        assert response.status_code == 200, stage
        assert "The round moved to its next stage." in response.text
        assert round_row(round_id)["stage"] == stage

    assert actions_of(round_id)[1:] == [
        "round.stage.scoring",
        "round.stage.shortlisted",
        "round.stage.decided",
        "round.stage.archived",
    ]
    assert round_row(round_id)["stage_changed_at"] is not None
    final = admin_client.get(path).text
    assert "this is its final stage" in final
    assert "Extend the closing time" not in final


def test_skipping_a_stage_is_refused(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-9),
            closes_at=timedelta(days=-1),
            grace_minutes=10,
        )
    ).round_id

    response = post_form(
        admin_client,
        f"/admin/rounds/{round_id}/stage",
        {"stage": "decided"},
        token_from=f"/admin/rounds/{round_id}",
    )

    assert response.status_code == 409
    assert "A round cannot move from collecting to decided." in response.text
    assert round_row(round_id)["stage"] == "collecting"


def test_unknown_stage_gets_a_clear_400(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-9),
            closes_at=timedelta(days=-1),
            grace_minutes=10,
        )
    ).round_id
    token = form_token(admin_client, f"/admin/rounds/{round_id}")

    for stage in ["bogus", "", "<script>x</script>", "s" * 5000]:
        response = admin_client.post(
            f"/admin/rounds/{round_id}/stage", data={"stage": stage, "_csrf_token": token}
        )

        assert response.status_code == 400, stage
        assert "Choose one of the stages shown." in response.text
        assert "<script>x" not in response.text
    assert round_row(round_id)["stage"] == "collecting"


def test_extend_after_scoring_began_is_refused(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-9),
            closes_at=timedelta(days=-1),
            grace_minutes=10,
        )
    ).round_id
    post_form(
        admin_client,
        f"/admin/rounds/{round_id}/stage",
        {"stage": "scoring"},
        token_from=f"/admin/rounds/{round_id}",
    )
    before = round_row(round_id)

    response = post_form(
        admin_client,
        f"/admin/rounds/{round_id}/extend",
        {"closes_date": "2027-07-12", "closes_time": "10:00", "reason": "Late"},
        token_from=f"/admin/rounds/{round_id}",
    )

    assert response.status_code == 409
    assert "cannot be extended" in response.text
    assert round_row(round_id) == before


def test_round_page_links_to_its_filtered_audit_log(admin_client):
    round_id = run(
        make_round(
            seat=run(make_seat(**ADMIN_SEAT)).seat_id,
            opens_at=timedelta(days=-1),
            closes_at=timedelta(days=2),
            grace_minutes=10,
        )
    ).round_id

    page = admin_client.get(f"/admin/rounds/{round_id}")

    assert f'href="/admin/audit?round={round_id}"' in page.text


def test_criteria_of_a_seat_whose_round_is_upcoming_stay_unlocked_until_open_now(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    round_id = run(
        make_round(
            seat=seat_id, opens_at=timedelta(days=2), closes_at=timedelta(days=9), grace_minutes=10
        )
    ).round_id
    assert "Add criterion" in admin_client.get(f"/admin/seats/{seat_id}").text

    post_form(
        admin_client,
        f"/admin/rounds/{round_id}/open-now",
        {"confirm": "1"},
        token_from=f"/admin/rounds/{round_id}/open",
    )
    response = post_form(
        admin_client,
        f"/admin/seats/{seat_id}/criteria",
        {
            "criterion_title": "Too late",
            "criterion_guidance": "",
            "criterion_weight": "1",
        },
        token_from=f"/admin/rounds/{round_id}",
    )

    assert response.status_code == 409
    assert len(criteria_of(seat_id)) == 1
