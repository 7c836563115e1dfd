"""Who may use the apply pages: A never sees B's application (404, not 403), signed-out
visitors are asked to sign in, admins are refused."""

from __future__ import annotations

import pytest

from portal.tables import Answer, Application
from tests.conftest import form_token
from tests.factories import RoundSetup, make_round, run
from tests.web.test_apply_journey import OPEN_ROUND, applicant_client, complete, start

PAGES = ["", "/review", "/receipt", "/withdraw"]
POSTS = ["", "/submit", "/withdraw"]


@pytest.fixture
def b_application(make_client) -> tuple[RoundSetup, int]:
    """Applicant B's submitted application, made through B's own session."""
    b = applicant_client(make_client(), "bea@example.org")
    r = run(make_round(**OPEN_ROUND))
    application_id = start(b, r.round_id)
    complete(b, r, application_id)
    token = form_token(b, f"/applications/{application_id}/review")
    assert (
        b.post(f"/applications/{application_id}/submit", data={"_csrf_token": token}).status_code
        == 200
    )
    return r, application_id


@pytest.mark.parametrize("suffix", PAGES)
def test_other_applicants_pages_are_not_found(client, b_application, suffix):
    r, application_id = b_application
    a = applicant_client(client)

    page = a.get(f"/applications/{application_id}{suffix}")

    assert page.status_code == 404
    assert "Page not found" in page.text or "no such application" in page.text


@pytest.mark.parametrize("suffix", POSTS)
def test_other_applicants_writes_are_not_found_and_change_nothing(client, b_application, suffix):
    r, application_id = b_application
    a = applicant_client(client)
    token = form_token(a, "/account/profile")
    before = run(Application.select().where(Application.id == application_id).first())

    response = a.post(
        f"/applications/{application_id}{suffix}",
        data={"_csrf_token": token, f"question_{r.questions[0]}": "Hijacked"},
    )

    assert response.status_code == 404
    assert run(Application.select().where(Application.id == application_id).first()) == before
    assert (
        run(Answer.select(Answer.text).where(Answer.question == r.questions[0]).first())["text"]
        != "Hijacked"
    )


def test_unknown_application_is_not_found(client):
    a = applicant_client(client)
    assert a.get("/applications/999999").status_code == 404
    assert a.get("/applications/not-a-number").status_code == 404


def test_signed_out_visitor_gets_sign_in_page(client):
    r = run(make_round(**OPEN_ROUND))
    for path in ("/applications", f"/applications/start/{r.round_id}", "/applications/1"):
        page = client.get(path)
        assert page.status_code == 401
        assert f'href="/account/sign-in?next={path}"' in page.text
        # A first-time applicant is not stuck, and comes back here once registered.
        assert f'href="/account/register?next={path}"' in page.text


def test_admin_is_refused(admin_client):
    r = run(make_round(**OPEN_ROUND))
    page = admin_client.get(f"/applications/start/{r.round_id}")
    assert page.status_code == 403
    assert admin_client.get("/applications").status_code == 403
