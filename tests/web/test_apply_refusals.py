"""Refusals on the apply pages: after the deadline on every write path, incomplete or
withdrawn or unpublished submits, and hostile form input. Each checks the clear
message and that nothing already saved was lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.tables import Answer, Application, Round, Seat, Submission
from tests.conftest import form_token, post_form
from tests.factories import RoundSetup, make_round, run, write
from tests.web.test_apply_journey import OPEN_ROUND, applicant_client, complete, save, start


def close_round(round_id: int) -> None:
    """Closing time and grace both in the past."""
    past = datetime.now(UTC) - timedelta(hours=2)
    write(
        lambda: Round.update({Round.closes_at: past, Round.grace_minutes: 10}).where(
            Round.id == round_id
        )
    )


def saved_answer(question_id: int) -> str | None:
    row = run(Answer.select(Answer.text).where(Answer.question == question_id).first())
    return row["text"] if row else None


def started(client) -> tuple[RoundSetup, int]:
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(client, r.round_id)
    complete(client, r, application_id)
    return r, application_id


# ---- After the deadline -----------------------------------------------------------


def test_save_after_deadline_states_closing_time_and_keeps_draft_readable(client):
    r, application_id = started(client)
    token = form_token(client, f"/applications/{application_id}")
    close_round(r.round_id)

    response = client.post(
        f"/applications/{application_id}",
        data={"_csrf_token": token, f"question_{r.questions[0]}": "Too late now"},
    )

    assert response.status_code == 409
    assert "This round closed at" in response.text and "(UK time)" in response.text
    assert saved_answer(r.questions[0]) == "Because I lead it"
    page = client.get(f"/applications/{application_id}")
    assert page.status_code == 200 and "Because I lead it" in page.text
    assert "can no longer be changed" in page.text and "<textarea" not in page.text


def test_submit_after_deadline_is_refused_with_closing_time(client):
    r, application_id = started(client)
    token = form_token(client, f"/applications/{application_id}/review")
    close_round(r.round_id)

    response = client.post(f"/applications/{application_id}/submit", data={"_csrf_token": token})

    assert response.status_code == 409
    assert "Your application was not submitted" in response.text
    assert "This round closed at" in response.text
    assert "Read your answers" in response.text and "change your answers" not in response.text
    assert run(Submission.count()) == 0
    assert run(Application.select().first())["status"] == "draft"


def test_withdraw_after_deadline_is_refused(client):
    r, application_id = started(client)
    token = form_token(client, f"/applications/{application_id}/withdraw")
    close_round(r.round_id)

    response = client.post(f"/applications/{application_id}/withdraw", data={"_csrf_token": token})

    assert response.status_code == 409 and "This round closed at" in response.text
    assert run(Application.select().first())["status"] == "draft"


def test_start_after_deadline_is_refused(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    token = form_token(client, f"/applications/start/{r.round_id}")
    close_round(r.round_id)

    response = client.post(f"/applications/start/{r.round_id}", data={"_csrf_token": token})

    assert response.status_code == 409 and "This round closed at" in response.text
    assert run(Application.count()) == 0
    page = client.get(f"/applications/start/{r.round_id}")
    assert "Applications can no longer be started" in page.text


# ---- Submit refusals --------------------------------------------------------------


def test_submit_with_missing_parts_is_refused(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(client, r.round_id)
    token = form_token(client, f"/applications/{application_id}")

    response = client.post(f"/applications/{application_id}/submit", data={"_csrf_token": token})

    assert response.status_code == 400
    assert "not ready to submit yet" in response.text and "Upload your CV." in response.text
    assert run(Submission.count()) == 0


def test_submit_after_withdrawal_is_refused(client):
    r, application_id = started(client)
    token = form_token(client, f"/applications/{application_id}/withdraw")
    client.post(f"/applications/{application_id}/withdraw", data={"_csrf_token": token})

    response = client.post(f"/applications/{application_id}/submit", data={"_csrf_token": token})

    assert response.status_code == 409 and "You withdrew this application" in response.text
    assert run(Submission.count()) == 0


def test_submit_to_unpublished_seat_is_refused(client):
    r, application_id = started(client)
    token = form_token(client, f"/applications/{application_id}/review")
    write(lambda: Seat.update({Seat.published: False}).where(Seat.id == r.seat_id))

    response = client.post(f"/applications/{application_id}/submit", data={"_csrf_token": token})

    assert response.status_code == 400
    assert "no longer open for applications" in response.text
    assert run(Submission.count()) == 0


def test_start_for_unpublished_seat_is_not_found(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND, published=False))
    assert client.get(f"/applications/start/{r.round_id}").status_code == 404
    token = form_token(client, "/account/profile")
    response = client.post(f"/applications/start/{r.round_id}", data={"_csrf_token": token})
    assert response.status_code == 404 and run(Application.count()) == 0


# ---- Hostile input ----------------------------------------------------------------


def test_extra_fields_cannot_set_status_reference_or_times(client):
    r, application_id = started(client)

    response = save(
        client,
        application_id,
        {
            f"question_{r.questions[0]}": "Still me",
            "status": "appointed",
            "reference": "SP-2026-HACKED",
            "received_at": "2000-01-01T00:00:00Z",
            "submitted_at": "2000-01-01T00:00:00Z",
            "applicant": "999",
            "in_grace": "true",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    row = run(Application.select().where(Application.id == application_id).first())
    assert row["status"] == "draft" and row["reference"] is None and row["received_at"] is None
    assert saved_answer(r.questions[0]) == "Still me"


def test_nul_byte_is_refused_clearly_and_nothing_lost(client):
    r, application_id = started(client)

    response = save(client, application_id, {f"question_{r.questions[0]}": "bad\x00byte"})

    assert response.status_code == 400
    assert "There is a problem" in response.text and "NUL byte" in response.text
    assert saved_answer(r.questions[0]) == "Because I lead it"


def test_overlong_answer_is_refused_clearly_and_nothing_lost(client):
    r, application_id = started(client)

    response = save(client, application_id, {f"question_{r.questions[0]}": "word " * 30_000})

    assert response.status_code == 400 and "is too long" in response.text
    assert saved_answer(r.questions[0]) == "Because I lead it"


def test_one_megabyte_answer_gets_the_too_large_page(client):
    r, application_id = started(client)

    response = save(client, application_id, {f"question_{r.questions[0]}": "x" * 1_000_000})

    assert response.status_code == 413
    assert "That upload or form is too large" in response.text
    form = client.get(f"/applications/{application_id}")
    assert "one save can send at most 1000 KB" in form.text
    assert saved_answer(r.questions[0]) == "Because I lead it"


def test_answer_over_its_word_limit_is_saved_marked_and_blocks_only_submit(client):
    """Issue 10: one answer over its limit no longer blocks saving the whole draft."""
    r, application_id = started(client)
    statement = f"criterion_{r.criteria[0]}"

    response = save(
        client,
        application_id,
        {f"question_{r.questions[0]}": "one two three four five six", statement: "Kept too"},
        follow_redirects=False,
    )

    assert response.status_code == 303 and response.headers["location"].endswith("?saved=1")
    assert saved_answer(r.questions[0]) == "one two three four five six"
    page = client.get(response.headers["location"])
    assert "Your draft is saved." in page.text and "Shorten the answers marked below" in page.text
    assert "Your answer to question 1 has 6 words; the limit is 5." in page.text
    assert 'aria-invalid="true"' in page.text and "Kept too" in page.text
    assert not page.text.startswith("Error") and "<title>Error" not in page.text
    review = client.get(f"/applications/{application_id}/review")
    assert "has 6 words; the limit is 5." in review.text
    assert "Submit your application</button>" not in review.text
    refused = client.post(
        f"/applications/{application_id}/submit",
        data={"_csrf_token": form_token(client, f"/applications/{application_id}")},
    )
    assert refused.status_code == 400 and "has 6 words; the limit is 5." in refused.text
    assert run(Submission.count()) == 0


def test_hostile_text_still_refuses_the_save_and_keeps_what_was_typed(client):
    r, application_id = started(client)

    response = save(
        client,
        application_id,
        {f"question_{r.questions[0]}": "nul\x00byte", f"criterion_{r.criteria[0]}": "Typed"},
    )

    assert response.status_code == 400
    assert "NUL byte" in response.text and "Typed" in response.text
    assert saved_answer(r.questions[0]) == "Because I lead it"


def test_html_is_escaped_on_every_page(client):
    r, application_id = started(client)

    save(client, application_id, {f"criterion_{r.criteria[0]}": "<script>alert(1)</script>"})

    for suffix in ("", "/review"):
        page = client.get(f"/applications/{application_id}{suffix}")
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_unknown_question_id_is_refused_and_nothing_lost(client):
    r, application_id = started(client)

    response = save(
        client, application_id, {f"question_{r.questions[0]}": "Changed", "question_999999": "x"}
    )

    assert response.status_code == 400 and "not part of this application" in response.text
    assert saved_answer(r.questions[0]) == "Because I lead it"


def test_start_with_malformed_round_id_is_not_found(client):
    applicant_client(client)
    assert client.get("/applications/start/abc").status_code == 404
    response = post_form(client, "/applications/start/0", {}, token_from="/account/profile")
    assert response.status_code == 404
