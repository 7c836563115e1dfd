"""Every rule of a round's entry, through both doors: the admin form and the JSON API.

Both bind the domain's `RoundInput` / `ExtensionInput` and call the same domain
functions, so each refuses the same entry with the same message, and saves nothing.
A rule the API's schema also states (the grace period's range) is refused by both,
naming the same field.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.domain.timerules import utcnow
from portal.tables import DeadlineExtension, Round
from tests.conftest import form_token
from tests.factories import make_round, make_seat, run
from tests.web.test_admin_rounds import round_form
from tests.web.test_admin_seats import ADMIN_SEAT, error_summary
from tests.web.test_api import assert_problem, bearer, error_keys, make_token

NEXT_YEAR = utcnow().year + 1
LAST_YEAR = utcnow().year - 1


def local(day: str, clock: str = "10:00") -> dict[str, str]:
    return {"date": day, "time": clock}


# (name, form changes, API body changes, expected message or None for schema rules, API key)
CREATE_RULES = [
    (
        "closing time in the past",
        {"opens_date": f"{LAST_YEAR}-01-01", "closes_date": f"{LAST_YEAR}-02-01"},
        {"opens": local(f"{LAST_YEAR}-01-01"), "closes": local(f"{LAST_YEAR}-02-01")},
        "The closing time must be in the future.",
        "closes",
    ),
    (
        "closing time in the past, as an instant",
        {"opens_date": f"{LAST_YEAR}-01-01", "closes_date": f"{LAST_YEAR}-02-01"},
        {"opens": f"{LAST_YEAR}-01-01T10:00:00Z", "closes": f"{LAST_YEAR}-02-01T10:00:00Z"},
        "The closing time must be in the future.",
        "closes",
    ),
    (
        "closing before opening",
        {"opens_date": f"{NEXT_YEAR}-03-01", "closes_date": f"{NEXT_YEAR}-02-01"},
        {"opens": local(f"{NEXT_YEAR}-03-01"), "closes": local(f"{NEXT_YEAR}-02-01")},
        "The closing time must be after the opening time.",
        "closes",
    ),
    (
        "a zone nobody has",
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "Mars/Olympus_Mons"},
        "“Mars/Olympus_Mons” is not a time zone we know, such as Europe/London.",
        "timezone",
    ),
    (
        "a date written the wrong way",
        {"opens_date": "18/11/2030"},
        {"opens": local("18/11/2030")},
        "Opening date: Enter the date as year-month-day, for example 2024-11-18.",
        "opens.date",
    ),
    (
        "a time written the wrong way",
        {"closes_time": "10am"},
        {"closes": local(f"{NEXT_YEAR}-07-12", "10am")},
        "Closing time: Enter the time as hours:minutes on a 24-hour clock, for example 10:00.",
        "closes.time",
    ),
    (
        "a year that is a typing slip",
        {"closes_date": "9999-12-31"},
        {"closes": local("9999-12-31")},
        "Closing date: Enter a year from 2000 to 2100.",
        "closes.date",
    ),
    (
        "a time in the spring-forward gap",
        {"closes_date": "2030-03-31", "closes_time": "01:30"},
        {"closes": local("2030-03-31", "01:30")},
        "does not exist in UK time",
        "closes.time",
    ),
    (
        "a time that happens twice in the autumn",
        {"closes_date": "2030-10-27", "closes_time": "01:30"},
        {"closes": local("2030-10-27", "01:30")},
        "happens twice in UK time",
        "closes.time",
    ),
    (
        "a grace period past the limit",
        {"grace_minutes": "61"},
        {"grace_minutes": 61},
        None,
        "grace_minutes",
    ),
]


def _form(**changes):
    base = round_form(opens_date=f"{NEXT_YEAR}-01-11", closes_date=f"{NEXT_YEAR}-07-12")
    return {**base, **changes}


def _api_body(**changes):
    body = {
        "opens": local(f"{NEXT_YEAR}-01-11", "09:00"),
        "closes": local(f"{NEXT_YEAR}-07-12"),
        "timezone": "Europe/London",
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    ("name", "form_changes", "api_changes", "message", "key"),
    CREATE_RULES,
    ids=[rule[0] for rule in CREATE_RULES],
)
def test_a_new_round_is_refused_alike_by_the_form_and_the_api(
    admin_client, admin_id, name, form_changes, api_changes, message, key
):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    token = form_token(admin_client, f"/admin/seats/{seat_id}/rounds/new")

    page = admin_client.post(
        f"/admin/seats/{seat_id}/rounds/new", data={**_form(**form_changes), "_csrf_token": token}
    )
    api = admin_client.post(
        f"/api/v1/seats/{seat_id}/rounds",
        json=_api_body(**api_changes),
        headers=bearer(make_token(admin_id)),
    )

    assert page.status_code == 400
    problem = assert_problem(api, 400)
    assert key in error_keys(problem) or problem.get("field") == key, problem
    if message is not None:
        assert message in error_summary(page.text)
        assert message in error_keys(problem)[key]
        if key in ("closes", "timezone", "closes.time", "closes.date", "opens.date"):
            form_message = error_summary(page.text)
            assert error_keys(problem)[key] in form_message  # word for word
    assert run(Round.count()) == 0


EXTEND_RULES = [
    (
        "earlier than the current closing time",
        {"closes_date": "2000-01-03", "closes_time": "10:00"},
        {"closes": local("2000-01-03")},
        "The new closing time must be later than the current one.",
        "closes",
    ),
    (
        "no reason",
        {"reason": "   "},
        {"reason": "   "},
        "Give a reason: it is kept in the audit log.",
        "reason",
    ),
    (
        "a time in the spring-forward gap",
        {"closes_date": "2030-03-31", "closes_time": "01:30"},
        {"closes": local("2030-03-31", "01:30")},
        "does not exist in UK time",
        "closes.time",
    ),
    (
        "a date written the wrong way",
        {"closes_date": "31/12/2030"},
        {"closes": local("31/12/2030")},
        "Closing date: Enter the date as year-month-day, for example 2024-11-18.",
        "closes.date",
    ),
]


@pytest.mark.parametrize(
    ("name", "form_changes", "api_changes", "message", "key"),
    EXTEND_RULES,
    ids=[rule[0] for rule in EXTEND_RULES],
)
def test_an_extension_is_refused_alike_by_the_form_and_the_api(
    admin_client, admin_id, name, form_changes, api_changes, message, key
):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    round_id = run(
        make_round(
            seat=seat_id, opens_at=-timedelta(days=1), closes_at=timedelta(days=2), grace_minutes=10
        )
    ).round_id
    form = {"closes_date": f"{NEXT_YEAR}-07-12", "closes_time": "10:00", "reason": "Late post"}
    body = {"closes": local(f"{NEXT_YEAR}-07-12"), "reason": "Late post"}
    token = form_token(admin_client, f"/admin/rounds/{round_id}/extend")

    page = admin_client.post(
        f"/admin/rounds/{round_id}/extend", data={**form, **form_changes, "_csrf_token": token}
    )
    api = admin_client.post(
        f"/api/v1/rounds/{round_id}/extend",
        json={**body, **api_changes},
        headers=bearer(make_token(admin_id)),
    )

    assert page.status_code == 400
    problem = assert_problem(api, 400)
    assert message in error_summary(page.text)
    assert message in error_keys(problem)[key]
    assert run(DeadlineExtension.count()) == 0
