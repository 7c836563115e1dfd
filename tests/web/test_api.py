"""The JSON API: public reads, admin writes behind a bearer token, problem details."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal import db
from portal.domain.accounts.api_tokens import create_api_token, revoke_api_token
from portal.domain.audit import Actor
from portal.domain.timerules import utcnow
from portal.tables import AuditEvent, Round, Seat
from tests.factories import make_seat, make_user, run

SYSTEM = Actor.system()

# Every admin route, with a body that would be valid, so only the token decides.
ADMIN_ROUTES = [
    ("POST", "/api/v1/seats", {"title": "A seat"}),
    ("PUT", "/api/v1/seats/{seat}", {"title": "A seat"}),
    ("PATCH", "/api/v1/seats/{seat}", {"title": "A seat"}),
    ("POST", "/api/v1/seats/{seat}/publish", None),
    ("POST", "/api/v1/seats/{seat}/unpublish", None),
    ("POST", "/api/v1/seats/{seat}/criteria", {"title": "Expertise"}),
    ("POST", "/api/v1/seats/{seat}/questions", {"prompt": "Why?"}),
    (
        "POST",
        "/api/v1/seats/{seat}/rounds",
        {"opens": "2030-01-01T09:00:00Z", "closes": "2030-02-01T09:00:00Z"},
    ),
    ("POST", "/api/v1/rounds/{round}/open", None),
    ("POST", "/api/v1/rounds/{round}/close", None),
    (
        "POST",
        "/api/v1/rounds/{round}/extend",
        {"closes": "2030-03-01T09:00:00Z", "reason": "More time"},
    ),
]


# Arrange helpers ----------------------------------------------------------------

# The API tests' seat: published, one criterion and one question, its slug made from its
# title (give it rounds=[(opens, closes)], times from now).
API_SEAT = {
    "criteria": [("Lived experience", "Say how", 2)],
    "questions": [("Why this seat?", 250, True)],
    "actor": SYSTEM,
}
OPEN_NOW = [(timedelta(days=-1), timedelta(days=3))]  # (opens, closes) from now
LATER = [(timedelta(days=5), timedelta(days=9))]


async def _token(user_id: int, name: str = "test") -> str:
    async with db.write_transaction():
        return await create_api_token(user_id, name, SYSTEM, utcnow())


def make_token(user_id: int, name: str = "test") -> str:
    return run(_token(user_id, name))


async def _applicant() -> int:
    return await make_user("app@example.org", "Applicant", password=None, verified=False)


@pytest.fixture
def token(admin_id) -> str:
    return make_token(admin_id)


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def error_keys(body: dict) -> dict[str, str]:
    return {e["key"]: e["message"] for e in body.get("errors", [])}


def count(table) -> int:
    return run(table.count())


# Public reads -------------------------------------------------------------------


def test_seat_list_shows_published_seats_with_their_current_round(client):
    run(make_seat("Racial equity lead", rounds=OPEN_NOW, **API_SEAT))
    run(make_seat("Hidden seat", published=False, rounds=OPEN_NOW, **API_SEAT))
    run(make_seat("Later seat", rounds=LATER, **API_SEAT))

    response = client.get("/api/v1/seats")

    assert response.status_code == 200
    seats = {s["title"]: s for s in response.json()}
    assert set(seats) == {"Racial equity lead", "Later seat"}
    lead = seats["Racial equity lead"]
    assert lead["phase"] == "open"
    assert lead["round"]["timezone"] == "Europe/London"
    assert lead["round"]["closes_at"].endswith("Z")
    assert lead["round"]["closes_text"].endswith("(UK time)")
    assert lead["round"]["remaining_text"].endswith("left")
    assert lead["page_url"] == "http://testserver.local/seats/racial-equity-lead"
    assert seats["Later seat"]["phase"] == "upcoming"


def test_seat_list_filters_by_phase(client):
    run(make_seat("Racial equity lead", rounds=OPEN_NOW, **API_SEAT))
    run(make_seat("Later seat", rounds=LATER, **API_SEAT))

    titles = [s["title"] for s in client.get("/api/v1/seats", params={"phase": "upcoming"}).json()]

    assert titles == ["Later seat"]


def test_seat_list_with_unknown_phase_is_a_400_problem(client):
    body = assert_problem(client.get("/api/v1/seats", params={"phase": "<b>soon</b>"}), 400)
    assert "phase" in error_keys(body)


def test_published_seat_without_a_round_is_listed_without_one(client):
    run(make_seat("No round yet", **API_SEAT))

    (seat,) = client.get("/api/v1/seats").json()

    assert seat["phase"] is None and seat["round"] is None


def test_seat_detail_has_criteria_questions_and_rounds(client):
    run(make_seat("Racial equity lead", rounds=OPEN_NOW, **API_SEAT))

    response = client.get("/api/v1/seats/racial-equity-lead")

    assert response.status_code == 200
    seat = response.json()
    assert seat["criteria"][0] | {"id": 0} == {
        "id": 0,
        "title": "Lived experience",
        "guidance": "Say how",
        "weight": 2,
    }
    assert seat["questions"][0]["prompt"] == "Why this seat?"
    assert seat["questions"][0]["word_limit"] == 250
    assert len(seat["rounds"]) == 1 and seat["round"]["id"] == seat["rounds"][0]["id"]
    assert "grace_minutes" not in seat["round"]  # the grace period is never advertised


def test_round_read_gives_utc_instants_and_local_text(client):
    round_id = run(make_seat("Racial equity lead", rounds=OPEN_NOW, **API_SEAT)).rounds[0]

    response = client.get(f"/api/v1/rounds/{round_id}")

    assert response.status_code == 200
    got = response.json()
    assert got["id"] == round_id and got["seat_slug"] == "racial-equity-lead"
    assert got["opens_at"].endswith("Z") and got["phase"] == "open" and got["stage"] == "collecting"
    assert " on " in got["closes_text"] and got["closes_text"].endswith("(UK time)")


def test_unpublished_seat_and_its_round_are_404_problems(client):
    round_id = run(make_seat("Hidden seat", published=False, rounds=OPEN_NOW, **API_SEAT)).rounds[0]

    body = assert_problem(client.get("/api/v1/seats/hidden-seat"), 404)
    assert "no published seat" in body["detail"]
    assert_problem(client.get(f"/api/v1/rounds/{round_id}"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/seats/no-such-seat",
        "/api/v1/rounds/999",
        "/api/v1/rounds/99999999999999999999",
        "/api/v1/nothing",
    ],
)
def test_unknown_public_addresses_are_404_problems(client, path):
    assert_problem(client.get(path), 404)


# The token guard ------------------------------------------------------------------


def _route(client, method: str, path: str, body, headers=None):
    seat = run(
        make_seat("Guarded seat", rounds=[(timedelta(days=1), timedelta(days=4))], **API_SEAT)
    )
    seat_id, round_id = seat.seat_id, seat.rounds[0]
    path = path.format(seat=seat_id, round=round_id)
    return client.request(method, path, json=body, headers=headers or {})


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_route_without_token_is_401(client, method, path, body):
    body = assert_problem(_route(client, method, path, body), 401)
    assert "Bearer" in body["detail"]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_route_with_a_bad_token_is_401_with_a_bearer_challenge(
    client, admin_id, method, path, body
):
    response = _route(client, method, path, body, bearer("sp_not-a-real-token"))
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_route_with_a_revoked_token_is_401(client, admin_id, method, path, body):
    raw = make_token(admin_id)
    run(_revoke_all())
    assert_problem(_route(client, method, path, body, bearer(raw)), 401)


async def _revoke_all() -> None:
    from portal.tables import ApiToken

    async with db.write_transaction():
        for row in await ApiToken.select(ApiToken.id).where(ApiToken.revoked_at.is_null()):
            await revoke_api_token(row["id"], SYSTEM, utcnow())


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_route_with_a_non_admin_token_is_403(client, method, path, body):
    raw = make_token(run(_applicant()))
    body = assert_problem(_route(client, method, path, body, bearer(raw)), 403)
    assert "not an admin" in body["detail"]


def test_a_signed_in_admin_session_is_not_enough_for_the_api(admin_client):
    assert_problem(admin_client.post("/api/v1/seats", json={"title": "Via cookie"}), 401)
    assert count(Seat) == 0


def test_other_authorization_schemes_are_refused(client, token):
    assert_problem(
        client.post(
            "/api/v1/seats", json={"title": "x"}, headers={"Authorization": f"Basic {token}"}
        ),
        401,
    )


def test_api_use_is_recorded_on_the_token(client, token):
    from portal.tables import ApiToken

    client.post("/api/v1/seats", json={"title": "A seat"}, headers=bearer(token))

    assert run(ApiToken.select(ApiToken.last_used_at).first())["last_used_at"] is not None


# Admin writes ---------------------------------------------------------------------------


def test_create_seat_with_parts_publish_and_read_it_publicly(client, token, admin_id):
    response = client.post(
        "/api/v1/seats",
        json={
            "title": "Racial equity lead",
            "summary": "A leader from an organisation focused on racially minoritised people.",
            "criteria": [
                {"title": "Expertise", "guidance": "Service delivery or policy", "weight": 3},
                {"title": "Networks"},
            ],
            "questions": [
                {"prompt": "What would you bring?", "word_limit": 400, "required": False}
            ],
        },
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["slug"] == "racial-equity-lead" and created["published"] is False
    assert [c["title"] for c in created["criteria"]] == ["Expertise", "Networks"]
    assert client.get("/api/v1/seats/racial-equity-lead").status_code == 404  # not yet published

    published = client.post(f"/api/v1/seats/{created['id']}/publish", headers=bearer(token))

    assert published.status_code == 200 and published.json()["published"] is True
    seat = client.get("/api/v1/seats/racial-equity-lead").json()
    assert seat["criteria"][0]["weight"] == 3 and seat["questions"][0]["required"] is False
    unpublished = client.post(f"/api/v1/seats/{created['id']}/unpublish", headers=bearer(token))
    assert unpublished.json()["published"] is False
    assert_problem(client.get("/api/v1/seats/racial-equity-lead"), 404)


def test_writes_are_audited_as_the_tokens_owner(client, token, admin_id):
    client.post(
        "/api/v1/seats",
        json={"title": "Audited seat", "criteria": [{"title": "One"}]},
        headers=bearer(token),
    )

    events = run(
        AuditEvent.select(AuditEvent.action, AuditEvent.actor, AuditEvent.actor_label).where(
            AuditEvent.action.like("seat.%")
        )
    )

    assert events == [
        {"action": "seat.created", "actor": admin_id, "actor_label": "ada@example.org"}
    ]
    assert run(
        AuditEvent.exists().where(
            (AuditEvent.action == "criterion.added") & (AuditEvent.actor == admin_id)
        )
    )


def test_patch_changes_only_the_fields_sent(client, token):
    seat_id = run(
        make_seat("Racial equity lead", summary="About Racial equity lead", **API_SEAT)
    ).seat_id

    response = client.patch(
        f"/api/v1/seats/{seat_id}", json={"location": "Leeds or online"}, headers=bearer(token)
    )

    assert response.status_code == 200, response.text
    seat = response.json()
    assert seat["location"] == "Leeds or online"
    assert seat["title"] == "Racial equity lead" and seat["summary"] == "About Racial equity lead"


def test_put_replaces_the_text_and_keeps_the_slug_when_none_is_sent(client, token):
    seat_id = run(
        make_seat("Racial equity lead", summary="About Racial equity lead", **API_SEAT)
    ).seat_id

    response = client.put(
        f"/api/v1/seats/{seat_id}",
        json={"title": "Racial equity lead (renamed)"},
        headers=bearer(token),
    )

    assert response.status_code == 200, response.text
    seat = response.json()
    assert seat["title"] == "Racial equity lead (renamed)" and seat["summary"] == ""
    assert seat["slug"] == "racial-equity-lead"


def test_create_round_in_local_time_then_open_extend_and_close(client, token):
    seat_id = run(make_seat("Racial equity lead", **API_SEAT)).seat_id
    year = utcnow().year + 1

    created = client.post(
        f"/api/v1/seats/{seat_id}/rounds",
        json={
            "opens": {"date": f"{year}-11-04", "time": "09:00"},
            "closes": {"date": f"{year}-11-18", "time": "10:00"},
        },
        headers=bearer(token),
    )

    assert created.status_code == 201, created.text
    got = created.json()
    assert got["closes_at"] == f"{year}-11-18T10:00:00Z"  # GMT in November
    assert got["closes_text"].startswith("10am on ") and got["phase"] == "upcoming"
    round_id = got["id"]
    assert client.get(f"/api/v1/rounds/{round_id}").json()["phase"] == "upcoming"

    opened = client.post(f"/api/v1/rounds/{round_id}/open", headers=bearer(token))
    assert opened.status_code == 200 and opened.json()["phase"] == "open"
    assert client.get("/api/v1/seats/racial-equity-lead").json()["phase"] == "open"

    extended = client.post(
        f"/api/v1/rounds/{round_id}/extend",
        json={"closes": {"date": f"{year}-11-25", "time": "10:00"}, "reason": "Late publicity"},
        headers=bearer(token),
    )
    assert extended.status_code == 200, extended.text
    assert extended.json()["closes_at"] == f"{year}-11-25T10:00:00Z"

    closed = client.post(f"/api/v1/rounds/{round_id}/close", headers=bearer(token))
    assert closed.status_code == 200 and closed.json()["phase"] == "closed"
    assert client.get(f"/api/v1/rounds/{round_id}").json()["remaining_text"] == "closed"
    actions = {
        e["action"]
        for e in run(AuditEvent.select(AuditEvent.action).where(AuditEvent.round == round_id))
    }
    assert {"round.created", "round.opened_now", "round.extended", "round.closed_now"} <= actions


def test_create_round_with_iso_instants_in_summer_time(client, token):
    seat_id = run(make_seat("Racial equity lead", **API_SEAT)).seat_id
    year = utcnow().year + 1

    got = client.post(
        f"/api/v1/seats/{seat_id}/rounds",
        json={
            "opens": f"{year}-06-01T09:00:00+01:00",
            "closes": f"{year}-06-30T17:00:00+01:00",
            "grace_minutes": 5,
        },
        headers=bearer(token),
    ).json()

    assert got["opens_at"] == f"{year}-06-01T08:00:00Z"
    assert got["closes_text"].startswith("5pm on ")
    assert "nomination_required" not in got


def test_create_round_does_not_offer_a_nomination_setting(client, token):
    """Nominations do not exist yet: the setting is refused rather than silently kept."""
    seat_id = run(make_seat("Racial equity lead", **API_SEAT)).seat_id
    year = utcnow().year + 1

    refused = client.post(
        f"/api/v1/seats/{seat_id}/rounds",
        json={
            "opens": f"{year}-06-01T09:00:00+01:00",
            "closes": f"{year}-06-30T17:00:00+01:00",
            "nomination_required": True,
        },
        headers=bearer(token),
    )

    assert refused.status_code == 400
    assert run(Round.count()) == 0
    schema = client.get("/api/v1/docs/openapi.json").json()
    assert "nomination_required" not in str(schema)


def test_extend_without_a_reason_is_refused_and_nothing_changes(client, token):
    round_id = run(make_seat("Racial equity lead", rounds=OPEN_NOW, **API_SEAT)).rounds[0]
    before = run(Round.select(Round.closes_at).first())["closes_at"]

    missing = assert_problem(
        client.post(
            f"/api/v1/rounds/{round_id}/extend",
            json={"closes": "2099-01-01T10:00:00Z"},
            headers=bearer(token),
        ),
        400,
    )
    blank = assert_problem(
        client.post(
            f"/api/v1/rounds/{round_id}/extend",
            json={"closes": "2099-01-01T10:00:00Z", "reason": "  "},
            headers=bearer(token),
        ),
        400,
    )

    assert "reason" in error_keys(missing) and "reason" in error_keys(blank)
    assert "Give a reason" in blank["detail"]
    assert run(Round.select(Round.closes_at).first())["closes_at"] == before


def test_opening_a_round_that_is_already_open_is_a_409_problem(client, token):
    round_id = run(make_seat("Racial equity lead", rounds=OPEN_NOW, **API_SEAT)).rounds[0]

    assert_problem(client.post(f"/api/v1/rounds/{round_id}/open", headers=bearer(token)), 409)


def test_criteria_cannot_be_added_once_a_round_has_opened(client, token):
    seat_id = run(make_seat("Racial equity lead", rounds=OPEN_NOW, **API_SEAT)).seat_id

    body = assert_problem(
        client.post(
            f"/api/v1/seats/{seat_id}/criteria", json={"title": "New"}, headers=bearer(token)
        ),
        409,
    )

    assert "locked" in body["detail"]


def test_criteria_and_questions_can_be_added_before_any_round(client, token):
    seat_id = run(make_seat("Racial equity lead", **API_SEAT)).seat_id

    client.post(
        f"/api/v1/seats/{seat_id}/criteria",
        json={"title": "Policy", "weight": 4},
        headers=bearer(token),
    )
    seat = client.post(
        f"/api/v1/seats/{seat_id}/questions", json={"prompt": "Tell us more"}, headers=bearer(token)
    ).json()

    assert [c["title"] for c in seat["criteria"]] == ["Lived experience", "Policy"]
    assert [q["prompt"] for q in seat["questions"]] == ["Why this seat?", "Tell us more"]


# Hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"title": 42}, "title"),
        ({"title": "x", "criteria": [{"title": "ok", "weight": "heavy"}]}, "criteria[0].weight"),
        ({"title": "x", "criteria": "not a list"}, "criteria"),
        ({"title": "x", "published": "perhaps"}, "published"),
        ({"title": None}, "title"),
    ],
)
def test_wrong_types_are_400_problems_naming_the_field(client, token, body, key):
    response = client.post("/api/v1/seats", json=body, headers=bearer(token))

    assert key in error_keys(assert_problem(response, 400))
    assert count(Seat) == 0


def test_missing_fields_are_named(client, token):
    body = assert_problem(
        client.post("/api/v1/seats", json={"summary": "No title"}, headers=bearer(token)), 400
    )
    assert error_keys(body) == {"title": "This field is required."}

    seat_id = run(make_seat("Racial equity lead", **API_SEAT)).seat_id
    body = assert_problem(
        client.post(
            f"/api/v1/seats/{seat_id}/rounds",
            json={"opens": "2030-01-01T09:00:00Z"},
            headers=bearer(token),
        ),
        400,
    )
    assert "closes" in error_keys(body)


def test_blank_title_and_every_bad_part_are_reported_together(client, token):
    response = client.post(
        "/api/v1/seats",
        json={
            "title": "   ",
            "criteria": [{"title": "ok"}, {"title": ""}],
            "questions": [{"prompt": ""}],
        },
        headers=bearer(token),
    )

    keys = error_keys(assert_problem(response, 400))
    assert keys["title"] == "Enter a title for the seat."
    assert set(keys) == {"title", "criteria[1].title", "questions[0].prompt"}
    assert count(Seat) == 0


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "summary": "x" * 1001}, "summary"),
        ({"title": "ok", "description": "x" * 20_001}, "description"),
        ({"title": "ok", "criteria": [{"title": "c"}] * 21}, "criteria"),
        ({"title": "ok", "criteria": [{"title": "c", "weight": 11}]}, "criteria[0].weight"),
        (
            {"title": "ok", "questions": [{"prompt": "q", "word_limit": 0}]},
            "questions[0].word_limit",
        ),
    ],
)
def test_overlong_or_out_of_range_values_are_400_and_nothing_is_saved(client, token, body, key):
    response = client.post("/api/v1/seats", json=body, headers=bearer(token))

    assert key in error_keys(assert_problem(response, 400))
    assert count(Seat) == 0


def test_patch_with_overlong_text_keeps_what_was_saved(client, token):
    seat_id = run(make_seat("Racial equity lead", **API_SEAT)).seat_id

    assert_problem(
        client.patch(f"/api/v1/seats/{seat_id}", json={"title": "x" * 500}, headers=bearer(token)),
        400,
    )

    assert run(Seat.select(Seat.title).first())["title"] == "Racial equity lead"


def test_unknown_fields_are_refused(client, token):
    body = assert_problem(
        client.post("/api/v1/seats", json={"title": "x", "titel": "typo"}, headers=bearer(token)),
        400,
    )
    assert error_keys(body) == {"titel": "This field is not allowed here."}


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]", b"null", b'{"title": "\xff"}'])
def test_malformed_json_is_a_400_problem(client, token, raw):
    response = client.post(
        "/api/v1/seats", content=raw, headers={**bearer(token), "Content-Type": "application/json"}
    )

    assert_problem(response, 400)
    assert count(Seat) == 0


def test_a_2_mb_body_is_a_413_problem(client, token):
    response = client.post(
        "/api/v1/seats",
        content=b'{"title": "' + b"x" * 2_000_000 + b'"}',
        headers={**bearer(token), "Content-Type": "application/json"},
    )

    body = assert_problem(response, 413)
    assert "1 MB" in body["detail"]
    assert count(Seat) == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/v1/seats/999", {"title": "x"}),
        ("PUT", "/api/v1/seats/999", {"title": "x"}),
        ("POST", "/api/v1/seats/999/publish", None),
        ("POST", "/api/v1/seats/99999999999999999999/publish", None),
        (
            "POST",
            "/api/v1/seats/999/rounds",
            {"opens": "2030-01-01T09:00:00Z", "closes": "2030-02-01T09:00:00Z"},
        ),
        ("POST", "/api/v1/rounds/999/open", None),
        ("POST", "/api/v1/rounds/0/close", None),
        (
            "POST",
            "/api/v1/rounds/99999999999999999999/extend",
            {"closes": "2030-03-01T09:00:00Z", "reason": "r"},
        ),
        ("POST", "/api/v1/seats/not-a-number/publish", None),
    ],
)
def test_unknown_ids_are_404_problems(client, token, method, path, body):
    assert_problem(client.request(method, path, json=body, headers=bearer(token)), 404)


def test_a_local_time_that_does_not_exist_is_refused_naming_the_field(client, token):
    seat_id = run(make_seat("Racial equity lead", **API_SEAT)).seat_id

    response = client.post(
        f"/api/v1/seats/{seat_id}/rounds",
        json={
            "opens": {"date": "2030-03-01", "time": "09:00"},
            "closes": {"date": "2030-03-31", "time": "01:30"},
        },
        headers=bearer(token),
    )

    body = assert_problem(response, 400)
    assert "does not exist" in error_keys(body)["closes.time"]
    assert "clocks go forward" in body["detail"]
    assert count(Round) == 0


def test_an_ambiguous_local_time_is_refused_naming_the_field(client, token):
    seat_id = run(make_seat("Racial equity lead", **API_SEAT)).seat_id

    response = client.post(
        f"/api/v1/seats/{seat_id}/rounds",
        json={
            "opens": {"date": "2030-10-27", "time": "01:30"},
            "closes": {"date": "2030-11-30", "time": "10:00"},
        },
        headers=bearer(token),
    )

    assert "happens twice" in error_keys(assert_problem(response, 400))["opens.time"]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"opens": "2030-01-01T09:00:00", "closes": "2030-02-01T09:00:00Z"}, "opens"),  # no offset
        (
            {"opens": {"date": "18/11/2030", "time": "10:00"}, "closes": "2030-12-01T09:00:00Z"},
            "opens.date",
        ),
        (
            {"opens": {"date": "2030-11-18", "time": "10am"}, "closes": "2030-12-01T09:00:00Z"},
            "opens.time",
        ),
        ({"opens": "9999-12-31T23:00:00Z", "closes": "9999-12-31T23:30:00Z"}, "opens"),
        (
            {
                "opens": "2030-01-01T09:00:00Z",
                "closes": "2030-02-01T09:00:00Z",
                "timezone": "Mars/Olympus",
            },
            "timezone",
        ),
        ({"opens": "2030-02-01T09:00:00Z", "closes": "2030-01-01T09:00:00Z"}, "closes"),
        (
            {
                "opens": "2030-01-01T09:00:00Z",
                "closes": "2030-02-01T09:00:00Z",
                "grace_minutes": 600,
            },
            "grace_minutes",
        ),
    ],
)
def test_bad_round_times_are_400_problems_naming_the_field(client, token, body, key):
    seat_id = run(make_seat("Racial equity lead", **API_SEAT)).seat_id

    response = client.post(f"/api/v1/seats/{seat_id}/rounds", json=body, headers=bearer(token))

    assert key in error_keys(assert_problem(response, 400))
    assert count(Round) == 0


def test_slug_in_use_is_a_400_problem(client, token):
    run(make_seat("Racial equity lead", **API_SEAT))

    body = assert_problem(
        client.post("/api/v1/seats", json={"title": "Racial equity lead"}, headers=bearer(token)),
        400,
    )

    assert "slug" in error_keys(body)
    assert count(Seat) == 1


def test_html_in_text_comes_back_as_json_text_not_markup(client, token):
    response = client.post(
        "/api/v1/seats",
        json={"title": "<script>alert(1)</script>", "published": True},
        headers=bearer(token),
    )

    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["title"] == "<script>alert(1)</script>"
    assert response.headers["x-content-type-options"] == "nosniff"


# OpenAPI ------------------------------------------------------------------------------------


def test_openapi_lists_the_api_with_its_bearer_scheme_and_no_html_pages(client):
    spec = client.get("/api/v1/docs/openapi.json").json()

    paths = spec["paths"]
    assert {
        "/api/v1/seats",
        "/api/v1/seats/{slug}",
        "/api/v1/rounds/{round_id}",
        "/api/v1/seats/{seat_id}/rounds",
        "/api/v1/rounds/{round_id}/extend",
    } <= set(paths)
    assert all(path.startswith("/api/v1/") for path in paths)
    scheme = spec["components"]["securitySchemes"]["AdminToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert paths["/api/v1/seats"]["post"]["security"] == [{"AdminToken": []}]
    assert "security" not in paths["/api/v1/seats"]["get"]
    assert spec["components"]["schemas"]["SeatCreate"]["properties"]["title"]["maxLength"] == 200


# The public cache ------------------------------------------------------------------------


def test_cached_reads_keep_filters_apart_and_writes_clear_them(make_client, admin_id):
    client = make_client(public_cache_seconds=60)
    raw = make_token(admin_id)
    run(make_seat("Racial equity lead", rounds=OPEN_NOW, **API_SEAT))
    run(make_seat("Later seat", rounds=LATER, **API_SEAT))
    assert len(client.get("/api/v1/seats").json()) == 2
    assert [s["title"] for s in client.get("/api/v1/seats?phase=upcoming").json()] == ["Later seat"]
    assert_problem(client.get("/api/v1/seats?phase=bogus"), 400)

    created = client.post(
        "/api/v1/seats", json={"title": "New seat", "published": True}, headers=bearer(raw)
    )

    assert created.status_code == 201
    assert len(client.get("/api/v1/seats").json()) == 3
    assert [s["title"] for s in client.get("/api/v1/seats?phase=upcoming&x=1").json()] == [
        "Later seat"
    ]
