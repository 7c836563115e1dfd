"""The apply journey through the pages: start, save a draft, come back, review, submit,
receipt page and mail, double submit, resubmit, withdraw and start again."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from portal.tables import (
    Application,
    OutboxMessage,
    Round,
    Seat,
    Submission,
)
from tests.conftest import form_token, post_form
from tests.factories import SHORT_FORM, RoundSetup, add_document, make_round, make_user, run, write

PASSWORD = "a long enough applicant password"
CV = b"%PDF-1.7\n" + b"x" * 100
# A round of the short form, open since yesterday for a week (times are from now).
OPEN_ROUND = {
    **SHORT_FORM,
    "opens_at": -timedelta(days=1),
    "closes_at": timedelta(days=7),
    "grace_minutes": 10,
}


def make_applicant(email: str = "rae@example.org", name: str = "Rae Applicant") -> int:
    return run(make_user(email, name, password=PASSWORD))


def sign_in_applicant(client, email: str = "rae@example.org") -> None:
    response = post_form(
        client,
        "/account/sign-in",
        {"email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text


def start(client, round_id: int) -> int:
    response = post_form(client, f"/applications/start/{round_id}", {}, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/applications/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def save(client, application_id: int, fields: dict, action: str = "save", **kwargs):
    return post_form(
        client,
        f"/applications/{application_id}",
        {**fields, "action": action},
        **kwargs,
    )


def complete(client, r: RoundSetup, application_id: int) -> None:
    response = save(
        client,
        application_id,
        {
            f"question_{r.questions[0]}": "Because I lead it",
            f"criterion_{r.criteria[0]}": "Ten years.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    run(add_document(application_id, data=CV))


def submit(client, application_id: int, **kwargs):
    return post_form(
        client,
        f"/applications/{application_id}/submit",
        {},
        token_from=f"/applications/{application_id}/review",
        **kwargs,
    )


def receipt_mails() -> list[dict]:
    return run(
        OutboxMessage.select().where(OutboxMessage.kind == "receipt").order_by(OutboxMessage.id)
    )


def applicant_client(client, email: str = "rae@example.org"):
    make_applicant(email)
    sign_in_applicant(client, email)
    return client


# ---- The journey ------------------------------------------------------------------


def test_seat_page_links_to_apply_while_open(client):
    r = run(make_round(**OPEN_ROUND))
    slug = run(Seat.select(Seat.slug).where(Seat.id == r.seat_id).first())["slug"]
    page = client.get(f"/seats/{slug}")
    assert f'href="/applications/start/{r.round_id}"' in page.text


def test_start_page_explains_and_starts_one_application(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    page = client.get(f"/applications/start/{r.round_id}")
    assert page.status_code == 200
    assert "Apply for Racial equity lead" in page.text and "Start your application" in page.text

    first = start(client, r.round_id)
    again = start(client, r.round_id)

    assert first == again
    assert "Continue your application" in client.get(f"/applications/start/{r.round_id}").text
    assert run(Application.count()) == 1


def test_save_draft_keeps_everything_and_says_so(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(client, r.round_id)

    response = save(
        client,
        application_id,
        {
            f"question_{r.questions[0]}": "Because I care",
            f"criterion_{r.criteria[0]}": "Years of it.",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Your draft is saved" in page.text
    assert "Because I care" in page.text and "Years of it." in page.text
    assert "Up to 5 words. You have used 3 words." in page.text
    assert f'href="/applications/{application_id}/documents"' in page.text
    assert "/static/word_count.js" in page.text  # the live counter; the server counts the same
    # Coming back later (a new page load) shows the same draft.
    assert "Because I care" in client.get(f"/applications/{application_id}").text


def test_review_lists_missing_parts_linking_to_fields_and_hides_submit(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(client, r.round_id)

    page = client.get(f"/applications/{application_id}/review")

    assert "Still to do before you can submit" in page.text
    assert (
        f'href="/applications/{application_id}#question_{r.questions[0]}">Answer question 1.'
        in page.text
    )
    assert f"#criterion_{r.criteria[0]}" in page.text and "Lived experience" in page.text
    assert f'href="/applications/{application_id}/documents">Upload your CV.' in page.text
    assert "Submit your application" not in page.text


def test_submit_gives_receipt_page_and_one_mail(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(client, r.round_id)
    complete(client, r, application_id)
    review = client.get(f"/applications/{application_id}/review")
    assert "Still to do" not in review.text and "Submit your application" in review.text

    response = submit(client, application_id, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/applications/{application_id}/receipt"
    page = client.get(response.headers["location"])
    app_row = run(Application.select().where(Application.id == application_id).first())
    submission = run(Submission.select().first())
    reference = app_row["reference"]
    assert re.fullmatch(r"SP-\d{4}-[2-9A-Z]{6}", reference)
    assert page.status_code == 200 and reference in page.text
    utc_text = submission["received_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert utc_text in page.text and "(UK time)" in page.text
    assert submission["content_hash"] in page.text
    assert "grace" not in page.text.lower()
    [mail] = receipt_mails()
    assert mail["recipient"] == "rae@example.org"
    assert reference in mail["subject"] and "Racial equity lead" in mail["subject"]
    for body in (mail["body_text"], mail["body_html"]):
        assert reference in body and utc_text in body and "(UK time)" in body
        assert submission["content_hash"] in body
        assert "grace" not in body.lower()


def test_double_submit_gives_same_receipt_and_one_mail(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(client, r.round_id)
    complete(client, r, application_id)

    # A double click: the same page's token, posted twice.
    token = form_token(client, f"/applications/{application_id}/review")
    path = f"/applications/{application_id}/submit"
    first = client.post(path, data={"_csrf_token": token})
    second = client.post(path, data={"_csrf_token": token})

    assert first.status_code == second.status_code == 200
    assert run(Submission.count()) == 1
    assert len(receipt_mails()) == 1
    reference = run(Application.select(Application.reference).first())["reference"]
    assert reference in first.text and reference in second.text


def test_edit_and_resubmit_gives_new_receipt(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(client, r.round_id)
    complete(client, r, application_id)
    submit(client, application_id)
    first_hash = run(Submission.select().first())["content_hash"]

    save(client, application_id, {f"question_{r.questions[0]}": "Because I changed it"})
    review = client.get(f"/applications/{application_id}/review")
    assert "You have changed your application since you submitted it" in review.text
    page = submit(client, application_id)

    submissions = run(Submission.select().order_by(Submission.version))
    assert [s["version"] for s in submissions] == [1, 2]
    assert submissions[1]["content_hash"] != first_hash
    assert submissions[1]["content_hash"] in page.text and first_hash not in page.text
    mails = receipt_mails()
    assert len(mails) == 2 and "version 2" in mails[1]["body_text"]


def test_my_applications_lists_status_reference_times_and_next_step(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(client, r.round_id)
    page = client.get("/applications")
    assert "Draft: not submitted" in page.text and "Given when you submit" in page.text
    assert "Closing time" in page.text and "(UK time)" in page.text
    assert "Finish your application and submit it before the closing time" in page.text

    complete(client, r, application_id)
    submit(client, application_id)
    page = client.get("/applications")

    reference = run(Application.select(Application.reference).first())["reference"]
    assert "Submitted" in page.text and reference in page.text
    assert "We have your application" in page.text


def test_withdraw_confirms_then_can_start_again(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(client, r.round_id)
    complete(client, r, application_id)
    submit(client, application_id)

    confirm = client.get(f"/applications/{application_id}/withdraw")
    assert "Yes, withdraw my application" in confirm.text
    response = post_form(
        client, f"/applications/{application_id}/withdraw", {}, follow_redirects=False
    )

    assert response.status_code == 303
    listing = client.get(response.headers["location"])
    assert "Your application is withdrawn." in listing.text and "start it again" in listing.text
    assert run(Application.select().first())["status"] == "withdrawn"
    assert start(client, r.round_id) == application_id
    page = client.get(f"/applications/{application_id}")
    assert run(Application.select().first())["status"] == "draft"
    assert "Because I lead it" in page.text


def test_submit_inside_grace_is_accepted_and_grace_never_shown(client):
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(client, r.round_id)
    complete(client, r, application_id)
    token = form_token(client, f"/applications/{application_id}/review")
    just_closed = datetime.now(UTC) - timedelta(minutes=1)
    write(lambda: Round.update({Round.closes_at: just_closed}).where(Round.id == r.round_id))

    page = client.post(f"/applications/{application_id}/submit", data={"_csrf_token": token})

    assert page.status_code == 200 and "Application received" in page.text
    assert run(Submission.select().first())["in_grace"] is True
    assert "grace" not in page.text.lower()
    assert "grace" not in receipt_mails()[0]["body_text"].lower()
    assert "grace" not in client.get("/applications").text.lower()
