"""Admin seat pages: create and edit seats, criteria and questions, publish, the criteria lock,
hostile input on every write path, and the admin guard on every route of this area."""

from __future__ import annotations

import re
from datetime import timedelta

from portal.tables import AuditEvent, Criterion, Question, Seat
from tests.conftest import ADMIN_PASSWORD, form_token, post_form
from tests.factories import make_round, make_seat, make_user, run

SEAT_FIELDS = (
    "title",
    "slug",
    "summary",
    "description",
    "eligibility",
    "represents",
    "time_commitment",
    "remuneration",
    "location",
    "how_to_apply",
)
HOSTILE = '<script>alert("x")</script><b onmouseover=alert(1)>'


def seat_data(**changes: str) -> dict[str, str]:
    data = {
        "title": "Racial equity lead",
        "slug": "",
        "summary": "A leader from an organisation focused on racially minoritised people.",
        "description": "Bring the voluntary sector's voice to policy.",
        "eligibility": "Senior role in a voluntary organisation.",
        "represents": "Organisations led by and for racially minoritised people.",
        "time_commitment": "Two days a month.",
        "remuneration": "£250 a day and expenses.",
        "location": "London or online.",
        "how_to_apply": "Apply online before the closing time.",
    }
    return {**data, **changes}


# The seat these pages start from, made as an admin makes it: not published, with one
# criterion and one question (pass the title first: `make_seat("Open seat", **ADMIN_SEAT)`).
ADMIN_SEAT = {
    **{name: value for name, value in seat_data().items() if name != "title"},
    "published": False,
    "criteria": [("Criminal justice expertise", "Policy or practice.", 2)],
    "questions": [("Why do you want this seat?", 300, True)],
}


def seat_row(seat_id: int) -> dict:
    return run(Seat.select().where(Seat.id == seat_id).first())


def criteria_of(seat_id: int) -> list[dict]:
    return run(Criterion.select().where(Criterion.seat == seat_id).order_by(Criterion.id))


def questions_of(seat_id: int) -> list[dict]:
    return run(Question.select().where(Question.seat == seat_id).order_by(Question.id))


def error_summary(html: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert match, "no error summary on the page"
    return match.group(0)


# ---- Creating and showing ---------------------------------------------------------


def test_seat_list_shows_every_seat_with_its_rounds_and_phase(admin_client):
    open_seat = run(make_seat("Open seat", **ADMIN_SEAT)).seat_id
    run(
        make_round(
            seat=open_seat,
            opens_at=timedelta(days=-1),
            closes_at=timedelta(days=3),
            grace_minutes=10,
        )
    )
    run(make_seat("Seat without a round", **ADMIN_SEAT))

    page = admin_client.get("/admin/seats")

    assert page.status_code == 200
    assert "Open seat" in page.text and "Seat without a round" in page.text
    assert "Not published" in page.text
    assert ">Open<" in page.text
    assert "No rounds yet" in page.text


def test_dashboard_lists_seats_and_rounds_with_their_phase_and_links(admin_client):
    seat_id = run(make_seat("Dashboard seat", **ADMIN_SEAT)).seat_id
    round_id = run(
        make_round(
            seat=seat_id, opens_at=timedelta(days=2), closes_at=timedelta(days=9), grace_minutes=10
        )
    ).round_id
    run(make_seat("Seat with no round", **ADMIN_SEAT))

    page = admin_client.get("/admin")

    assert "Signed in as Ada Admin" in page.text
    assert (
        f'href="/admin/seats/{seat_id}"' in page.text
        and f'href="/admin/rounds/{round_id}"' in page.text
    )
    assert ">Upcoming<" in page.text and "opens " in page.text
    assert "Create a round" in page.text


def test_create_seat_with_criteria_and_questions_shows_them_on_its_page(admin_client):
    response = post_form(admin_client, "/admin/seats/new", seat_data(), follow_redirects=False)
    assert response.status_code == 303
    seat_path = response.headers["location"].split("?")[0]

    post_form(
        admin_client,
        f"{seat_path}/criteria",
        {
            "criterion_title": "Representing others",
            "criterion_guidance": "How you gather views.",
            "criterion_weight": "3",
        },
        token_from=seat_path,
    )
    post_form(
        admin_client,
        f"{seat_path}/questions",
        {
            "question_prompt": "Tell us about your organisation.",
            "question_word_limit": "250",
            "question_required": "1",
        },
        token_from=seat_path,
    )
    post_form(
        admin_client,
        f"{seat_path}/questions",
        {
            "question_prompt": "Anything else?",
            "question_word_limit": "100",
        },
        token_from=seat_path,
    )
    page = admin_client.get(seat_path)

    assert "The seat was created" not in page.text  # notices only right after the redirect
    assert "Racial equity lead" in page.text
    assert "Representing others" in page.text and "How you gather views." in page.text
    assert "<td>3</td>" in page.text
    assert "Tell us about your organisation." in page.text and "250 words" in page.text
    assert "Required" in page.text and "Optional" in page.text
    seat_id = int(seat_path.rsplit("/", 1)[1])
    assert seat_row(seat_id)["slug"] == "racial-equity-lead"
    assert [q["required"] for q in questions_of(seat_id)] == [True, False]


def test_create_seat_writes_audit_event_with_the_admin(admin_client, admin_id):
    post_form(admin_client, "/admin/seats/new", seat_data())

    events = run(AuditEvent.select().where(AuditEvent.action == "seat.created"))

    assert len(events) == 1
    assert events[0]["actor"] == admin_id and events[0]["actor_label"] == "ada@example.org"


def test_create_seat_without_title_keeps_what_was_entered(admin_client):
    response = post_form(
        admin_client, "/admin/seats/new", seat_data(title="", summary="Kept summary")
    )

    assert response.status_code == 400
    assert "Enter a title for the seat." in error_summary(response.text)
    assert 'href="#title"' in response.text
    assert "Kept summary" in response.text
    assert "<title>Error:" in response.text
    assert run(Seat.count()) == 0


def test_edit_seat_form_shows_saved_values_and_saves_changes(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    form = admin_client.get(f"/admin/seats/{seat_id}/edit")
    assert "Two days a month." in form.text

    response = post_form(
        admin_client,
        f"/admin/seats/{seat_id}/edit",
        seat_data(location="Manchester"),
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert "Your changes were saved." in admin_client.get(response.headers["location"]).text
    assert seat_row(seat_id)["location"] == "Manchester"


def test_duplicate_web_address_name_is_refused(admin_client):
    run(make_seat("First", **{**ADMIN_SEAT, "slug": "shared-name"}))

    response = post_form(
        admin_client, "/admin/seats/new", seat_data(title="Second", slug="shared-name")
    )

    assert response.status_code == 400
    assert "Another seat already uses that web address name." in response.text
    assert run(Seat.count()) == 1


def test_publish_and_unpublish_change_the_seat_and_are_audited(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id

    published = post_form(
        admin_client, f"/admin/seats/{seat_id}/publish", {}, token_from=f"/admin/seats/{seat_id}"
    )
    assert "The seat is published" in published.text
    assert seat_row(seat_id)["published"] is True
    unpublished = post_form(
        admin_client, f"/admin/seats/{seat_id}/unpublish", {}, token_from=f"/admin/seats/{seat_id}"
    )

    assert "The seat is unpublished" in unpublished.text
    assert seat_row(seat_id)["published"] is False
    actions = run(
        AuditEvent.select(AuditEvent.action)
        .where(AuditEvent.subject_id == seat_id)
        .order_by(AuditEvent.id)
    )
    assert [a["action"] for a in actions][-2:] == ["seat.published", "seat.unpublished"]


def test_edit_and_remove_a_criterion_and_a_question(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    criterion, question = criteria_of(seat_id)[0], questions_of(seat_id)[0]
    edit_criterion = f"/admin/seats/{seat_id}/criteria/{criterion['id']}/edit"
    edit_question = f"/admin/seats/{seat_id}/questions/{question['id']}/edit"
    assert "Criminal justice expertise" in admin_client.get(edit_criterion).text

    post_form(
        admin_client,
        edit_criterion,
        {"criterion_title": "Policy expertise", "criterion_guidance": "", "criterion_weight": "4"},
    )
    post_form(
        admin_client, edit_question, {"question_prompt": "Why now?", "question_word_limit": "150"}
    )

    assert (
        criteria_of(seat_id)[0]["title"] == "Policy expertise"
        and criteria_of(seat_id)[0]["weight"] == 4
    )
    assert (
        questions_of(seat_id)[0]["prompt"] == "Why now?"
        and questions_of(seat_id)[0]["required"] is False
    )
    page_path = f"/admin/seats/{seat_id}"
    post_form(
        admin_client, f"{page_path}/criteria/{criterion['id']}/remove", {}, token_from=page_path
    )
    removed = post_form(
        admin_client, f"{page_path}/questions/{question['id']}/remove", {}, token_from=page_path
    )
    assert "The question was removed." in removed.text
    assert criteria_of(seat_id) == [] and questions_of(seat_id) == []


# ---- Hostile input ----------------------------------------------------------------


def test_html_and_script_in_every_text_field_are_escaped_on_admin_pages(admin_client):
    data = {name: f"{name} {HOSTILE}" for name in SEAT_FIELDS}
    response = post_form(admin_client, "/admin/seats/new", data, follow_redirects=False)
    seat_path = response.headers["location"].split("?")[0]
    post_form(
        admin_client,
        f"{seat_path}/criteria",
        {
            "criterion_title": f"criterion {HOSTILE}",
            "criterion_guidance": f"guidance {HOSTILE}",
            "criterion_weight": "1",
        },
        token_from=seat_path,
    )
    post_form(
        admin_client,
        f"{seat_path}/questions",
        {
            "question_prompt": f"question {HOSTILE}",
            "question_word_limit": "10",
        },
        token_from=seat_path,
    )
    seat_id = int(seat_path.rsplit("/", 1)[1])
    criterion_id, question_id = criteria_of(seat_id)[0]["id"], questions_of(seat_id)[0]["id"]

    pages = [
        "/admin",
        "/admin/seats",
        seat_path,
        f"{seat_path}/edit",
        "/admin/audit",
        f"{seat_path}/criteria/{criterion_id}/edit",
        f"{seat_path}/questions/{question_id}/edit",
        f"{seat_path}/rounds/new",
    ]
    for path in pages:
        page = admin_client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
        assert "<b onmouseover" not in page.text, path
    detail = admin_client.get(seat_path).text
    for name in SEAT_FIELDS[2:]:
        assert f"{name} &lt;script&gt;alert(" in detail, name
    assert "criterion &lt;script&gt;" in detail and "question &lt;script&gt;" in detail


def test_hostile_title_on_a_refused_form_is_escaped_when_shown_back(admin_client):
    response = post_form(
        admin_client, "/admin/seats/new", seat_data(title=HOSTILE, summary="x" * 1001)
    )

    assert response.status_code == 400
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;" in response.text


def test_overlong_field_on_edit_shows_the_error_and_keeps_the_saved_seat(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    before = seat_row(seat_id)
    token = form_token(admin_client, f"/admin/seats/{seat_id}/edit")

    for field_name, limit in [
        ("title", 200),
        ("summary", 1_000),
        ("description", 20_000),
        ("how_to_apply", 20_000),
    ]:
        data = seat_data(**{field_name: "y" * (limit + 1), "location": "Changed"})
        response = admin_client.post(
            f"/admin/seats/{seat_id}/edit", data={**data, "_csrf_token": token}
        )

        assert response.status_code == 400, field_name
        assert f'href="#{field_name}"' in error_summary(response.text), field_name
        assert "Keep" in error_summary(response.text)
        assert "Changed" in response.text  # what was typed is kept for correcting
    assert seat_row(seat_id) == before


def test_criterion_weight_of_the_wrong_type_gets_a_field_error(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    token = form_token(admin_client, f"/admin/seats/{seat_id}")
    cases = [
        ("abc", "The weight must be a whole number from 1 to 10."),
        ("", "The weight must be a whole number from 1 to 10."),
        ("2.5", "The weight must be a whole number from 1 to 10."),
        ("11", "The weight must be from 1 to 10."),
        ("-1", "The weight must be from 1 to 10."),
        ("9" * 5000, "The weight must be a whole number from 1 to 10."),
    ]
    for weight, message in cases:
        response = admin_client.post(
            f"/admin/seats/{seat_id}/criteria",
            data={
                "criterion_title": "Kept title",
                "criterion_guidance": "",
                "criterion_weight": weight,
                "_csrf_token": token,
            },
        )

        assert response.status_code == 400, weight
        assert message in error_summary(response.text), weight
        assert (
            'href="#criterion_weight"' in response.text and 'id="criterion_weight"' in response.text
        )
        assert 'value="Kept title"' in response.text
    assert len(criteria_of(seat_id)) == 1


def test_bad_criterion_edit_keeps_the_saved_criterion(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    criterion = criteria_of(seat_id)[0]

    response = post_form(
        admin_client,
        f"/admin/seats/{seat_id}/criteria/{criterion['id']}/edit",
        {
            "criterion_title": "t" * 201,
            "criterion_guidance": "New guidance",
            "criterion_weight": "abc",
        },
    )

    assert response.status_code == 400
    summary = error_summary(response.text)
    assert "Keep the criterion title under 200 characters." in summary
    assert "The weight must be a whole number" in summary
    assert "New guidance" in response.text
    assert criteria_of(seat_id)[0] == criterion


def test_question_with_a_bad_word_limit_or_no_prompt_is_refused(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    token = form_token(admin_client, f"/admin/seats/{seat_id}")

    for word_limit in ["abc", "0", "5001", ""]:
        response = admin_client.post(
            f"/admin/seats/{seat_id}/questions",
            data={
                "question_prompt": "",
                "question_word_limit": word_limit,
                "_csrf_token": token,
            },
        )

        assert response.status_code == 400, word_limit
        assert "Enter the question." in response.text
        assert "The word limit must be" in response.text
    assert len(questions_of(seat_id)) == 1


def test_bad_question_edit_keeps_the_saved_question(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    question = questions_of(seat_id)[0]

    response = post_form(
        admin_client,
        f"/admin/seats/{seat_id}/questions/{question['id']}/edit",
        {
            "question_prompt": "q" * 1001,
            "question_word_limit": "100",
        },
    )

    assert response.status_code == 400
    assert "Keep the question under 1000 characters." in response.text
    assert questions_of(seat_id)[0] == question


def test_two_megabyte_form_gets_the_413_page_and_saves_nothing(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    before = seat_row(seat_id)
    big = "z" * (2 * 1024 * 1024)

    created = post_form(
        admin_client, "/admin/seats/new", seat_data(description=big), token_from="/admin/seats/new"
    )
    edited = post_form(admin_client, f"/admin/seats/{seat_id}/edit", seat_data(description=big))
    criterion = post_form(
        admin_client,
        f"/admin/seats/{seat_id}/criteria",
        {
            "criterion_title": "x",
            "criterion_guidance": big,
            "criterion_weight": "1",
        },
        token_from=f"/admin/seats/{seat_id}",
    )

    for response in (created, edited, criterion):
        assert response.status_code == 413
        assert "That upload or form is too large" in response.text
    assert run(Seat.count()) == 1
    assert seat_row(seat_id) == before
    assert len(criteria_of(seat_id)) == 1


def test_repeated_form_field_gets_a_clear_400(admin_client):
    token = form_token(admin_client, "/admin/seats/new")

    response = admin_client.post(
        "/admin/seats/new",
        content=f"title=a&title=b&_csrf_token={token}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert "Something in the request was not right" in response.text
    assert run(Seat.count()) == 0


def test_nul_bytes_are_dropped_not_a_database_error(admin_client):
    response = post_form(
        admin_client, "/admin/seats/new", seat_data(title="Null\x00 seat"), follow_redirects=False
    )

    assert response.status_code == 303
    assert run(Seat.select(Seat.title).first())["title"] == "Null seat"


def test_unknown_ids_get_the_404_page(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    other_seat = run(make_seat("Other seat", **ADMIN_SEAT)).seat_id
    other_criterion = criteria_of(other_seat)[0]["id"]
    other_question = questions_of(other_seat)[0]["id"]
    criterion_form = {"criterion_title": "x", "criterion_guidance": "", "criterion_weight": "1"}
    question_form = {"question_prompt": "x", "question_word_limit": "10"}
    token = form_token(admin_client, f"/admin/seats/{seat_id}")
    huge = "9" * 30

    gets = [
        "/admin/seats/999999",
        f"/admin/seats/{huge}",
        f"/admin/seats/{huge}/edit",
        "/admin/seats/999999/edit",
        f"/admin/seats/{seat_id}/criteria/{other_criterion}/edit",
        f"/admin/seats/{seat_id}/questions/{other_question}/edit",
        f"/admin/seats/{seat_id}/criteria/{huge}/edit",
        "/admin/seats/abc",
        "/admin/seats/-1",
    ]
    posts = [
        ("/admin/seats/999999/edit", seat_data()),
        (f"/admin/seats/{huge}/edit", seat_data()),
        ("/admin/seats/999999/publish", {}),
        (f"/admin/seats/{huge}/unpublish", {}),
        ("/admin/seats/999999/criteria", criterion_form),
        ("/admin/seats/999999/questions", question_form),
        (f"/admin/seats/{seat_id}/criteria/{other_criterion}/edit", criterion_form),
        (f"/admin/seats/{seat_id}/criteria/{other_criterion}/remove", {}),
        (f"/admin/seats/{seat_id}/questions/{other_question}/edit", question_form),
        (f"/admin/seats/{seat_id}/questions/{huge}/remove", {}),
    ]
    for path in gets:
        response = admin_client.get(path)
        assert response.status_code == 404, path
        assert "<h1>Page not found</h1>" in response.text or "There is no such" in response.text, (
            path
        )
    for path, data in posts:
        response = admin_client.post(path, data={**data, "_csrf_token": token})
        assert response.status_code == 404, path
        assert "There is no such" in response.text, path
    assert len(criteria_of(other_seat)) == 1 and len(questions_of(other_seat)) == 1


def test_post_without_csrf_token_is_refused(admin_client):
    admin_client.get("/admin/seats/new")

    response = admin_client.post("/admin/seats/new", data=seat_data())

    assert response.status_code == 403
    assert run(Seat.count()) == 0


# ---- The criteria lock ------------------------------------------------------------


def test_criteria_lock_after_a_round_opened_shows_the_reason_instead_of_forms(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    run(
        make_round(
            seat=seat_id,
            opens_at=timedelta(minutes=-1),
            closes_at=timedelta(days=3),
            grace_minutes=10,
        )
    )

    page = admin_client.get(f"/admin/seats/{seat_id}")

    assert (
        "The criteria and questions are locked because a round of this seat has opened" in page.text
    )
    assert f'action="/admin/seats/{seat_id}/criteria"' not in page.text
    assert f'action="/admin/seats/{seat_id}/questions"' not in page.text
    assert "/remove" not in page.text


def test_criteria_lock_refuses_every_change_with_the_reason(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    criterion, question = criteria_of(seat_id)[0], questions_of(seat_id)[0]
    token = form_token(admin_client, f"/admin/seats/{seat_id}")
    run(
        make_round(
            seat=seat_id,
            opens_at=timedelta(minutes=-1),
            closes_at=timedelta(days=3),
            grace_minutes=10,
        )
    )
    criterion_form = {
        "criterion_title": "Changed",
        "criterion_guidance": "",
        "criterion_weight": "abc",
    }
    question_form = {"question_prompt": "Changed", "question_word_limit": "10"}

    attempts = [
        (f"/admin/seats/{seat_id}/criteria", criterion_form),
        (f"/admin/seats/{seat_id}/criteria/{criterion['id']}/edit", criterion_form),
        (f"/admin/seats/{seat_id}/criteria/{criterion['id']}/remove", {}),
        (f"/admin/seats/{seat_id}/questions", question_form),
        (f"/admin/seats/{seat_id}/questions/{question['id']}/edit", question_form),
        (f"/admin/seats/{seat_id}/questions/{question['id']}/remove", {}),
    ]
    for path, data in attempts:
        response = admin_client.post(path, data={**data, "_csrf_token": token})
        assert response.status_code == 409, path
        assert "locked because a round of this seat has opened" in error_summary(response.text), (
            path
        )
    assert criteria_of(seat_id) == [criterion]
    assert questions_of(seat_id) == [question]


def test_criteria_stay_editable_while_the_only_round_is_upcoming(admin_client):
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    run(
        make_round(
            seat=seat_id, opens_at=timedelta(days=1), closes_at=timedelta(days=3), grace_minutes=10
        )
    )

    response = post_form(
        admin_client,
        f"/admin/seats/{seat_id}/criteria",
        {
            "criterion_title": "Added before opening",
            "criterion_guidance": "",
            "criterion_weight": "1",
        },
        token_from=f"/admin/seats/{seat_id}",
    )

    assert response.status_code == 200
    assert "Added before opening" in response.text


def test_seat_edit_after_a_round_opened_is_still_allowed(admin_client):
    # Only criteria and questions lock: fixing a typo in the description stays possible.
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    run(
        make_round(
            seat=seat_id,
            opens_at=timedelta(minutes=-1),
            closes_at=timedelta(days=3),
            grace_minutes=10,
        )
    )

    response = post_form(admin_client, f"/admin/seats/{seat_id}/edit", seat_data(location="Leeds"))

    assert response.status_code == 200
    assert seat_row(seat_id)["location"] == "Leeds"


# ---- Who may use these pages ------------------------------------------------------


def _routes_of_this_area(app, ids: dict[str, int]) -> list[tuple[str, str]]:
    """Every (method, path) the seats, rounds and audit modules serve, with real ids filled in."""
    modules = {"portal.web.admin.seats", "portal.web.admin.rounds", "portal.web.admin.audit"}
    routes = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.fn.__module__ not in modules:
                continue
            path = re.sub(r"\{(\w+):int\}", lambda m: str(ids[m.group(1)]), route.path)
            for method in handler.http_methods:
                routes.append((method, path))
    return sorted(set(routes))


def _make_applicant() -> None:
    run(make_user("appl@example.org", "An Applicant", password=ADMIN_PASSWORD, verified=False))


def _area_routes(client) -> list[tuple[str, str]]:
    seat_id = run(make_seat(**ADMIN_SEAT)).seat_id
    round_id = run(
        make_round(
            seat=seat_id, opens_at=timedelta(days=1), closes_at=timedelta(days=3), grace_minutes=10
        )
    ).round_id
    ids = {
        "seat_id": seat_id,
        "round_id": round_id,
        "criterion_id": criteria_of(seat_id)[0]["id"],
        "question_id": questions_of(seat_id)[0]["id"],
    }
    routes = _routes_of_this_area(client.app, ids)
    # The list must really cover the pages of this area, not silently shrink.
    assert len(routes) >= 26, routes
    assert ("GET", "/admin/audit") in routes and (
        "POST",
        f"/admin/rounds/{round_id}/stage",
    ) in routes
    return routes


def test_every_route_of_this_area_refuses_signed_out_visitors_with_401(client, settings):
    routes = _area_routes(client)
    token = form_token(client, "/admin/sign-in")
    before = run(AuditEvent.count())

    for method, path in routes:
        response = client.request(
            method, path, data={"_csrf_token": token} if method == "POST" else None
        )
        assert response.status_code == 401, (method, path)
        assert "Please sign in" in response.text, (method, path)
    assert run(AuditEvent.count()) == before


def test_every_route_of_this_area_refuses_a_signed_in_applicant_with_403(client, settings):
    routes = _area_routes(client)
    _make_applicant()
    signed_in = post_form(
        client,
        "/admin/sign-in",
        {"email": "appl@example.org", "password": ADMIN_PASSWORD},
        follow_redirects=False,
    )
    assert signed_in.status_code in (302, 303)
    token = form_token(client, "/admin/sign-in")
    before = run(AuditEvent.count())

    for method, path in routes:
        response = client.request(
            method, path, data={"_csrf_token": token} if method == "POST" else None
        )
        assert response.status_code == 403, (method, path)
        assert "You do not have access to this page" in response.text, (method, path)
    assert run(AuditEvent.count()) == before


def test_admin_changes_clear_the_public_page_cache(make_client, admin_id):
    from tests.conftest import sign_in

    client = make_client(public_cache_seconds=300)
    assert sign_in(client, "ada@example.org").status_code in (302, 303)
    seat_id = run(make_seat("Cached seat", **ADMIN_SEAT)).seat_id
    run(
        make_round(
            seat=seat_id, opens_at=timedelta(days=-1), closes_at=timedelta(days=3), grace_minutes=10
        )
    )
    assert "Cached seat" not in client.get("/").text  # now cached without the seat

    post_form(client, f"/admin/seats/{seat_id}/publish", {}, token_from=f"/admin/seats/{seat_id}")

    assert "Cached seat" in client.get("/").text
