"""The apply journey through the pages: start, save a draft, come back, review, submit,
receipt page and mail, double submit, resubmit, withdraw and start again."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from portal import db
from portal.domain.accounts.credentials import hash_password
from portal.tables import (
    Application,
    Criterion,
    Document,
    OutboxMessage,
    Question,
    Round,
    Seat,
    Submission,
    User,
)
from tests.conftest import form_token, post_form, run

PASSWORD = "a long enough applicant password"
CV = b"%PDF-1.7\n" + b"x" * 100


async def _await(awaitable):
    return await awaitable


def fetch(query):
    return run(_await(query))


async def _in_write(query):
    async with db.write_transaction():
        return await query


def write(query):
    return run(_in_write(query))


def make_applicant(email: str = "rae@example.org", name: str = "Rae Applicant") -> int:
    now = datetime.now(UTC)
    rows = fetch(
        User.insert(
            User(
                email=email,
                name=name,
                role="applicant",
                password_hash=hash_password(PASSWORD),
                email_verified_at=now,
            )
        ).returning(User.id)
    )
    return rows[0]["id"]


def sign_in_applicant(client, email: str = "rae@example.org") -> None:
    response = post_form(
        client,
        "/account/sign-in",
        {"email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text


def make_round(
    *, opens: timedelta = timedelta(days=-1), closes: timedelta = timedelta(days=7), published=True
) -> dict:
    """A published seat with two questions (one optional) and one criterion, and an open round."""
    t = datetime.now(UTC)
    seat = fetch(
        Seat.insert(
            Seat(
                slug=f"seat-{int(t.timestamp() * 1_000_000)}",
                title="Racial equity lead",
                summary="A leader from a racially minoritised-led organisation.",
                published=published,
            )
        ).returning(Seat.id)
    )[0]["id"]
    q1 = fetch(
        Question.insert(
            Question(seat=seat, position=1, prompt="Why you?", word_limit=5, required=True)
        ).returning(Question.id)
    )[0]["id"]
    q2 = fetch(
        Question.insert(
            Question(seat=seat, position=2, prompt="Anything else?", word_limit=50, required=False)
        ).returning(Question.id)
    )[0]["id"]
    crit = fetch(
        Criterion.insert(Criterion(seat=seat, position=1, title="Lived experience")).returning(
            Criterion.id
        )
    )[0]["id"]
    round_id = fetch(
        Round.insert(Round(seat=seat, opens_at=t + opens, closes_at=t + closes)).returning(Round.id)
    )[0]["id"]
    return {"seat": seat, "round": round_id, "q1": q1, "q2": q2, "criterion": crit}


def add_cv(application_id: int, data: bytes = CV) -> None:
    """The upload pages belong to another part; the test stores the document directly."""
    fetch(
        Document.insert(
            Document(
                application=application_id,
                kind="cv",
                filename="cv.pdf",
                content_type="application/pdf",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data=data,
                uploaded_at=datetime.now(UTC),
            )
        )
    )


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


def complete(client, r: dict, application_id: int) -> None:
    response = save(
        client,
        application_id,
        {f"question_{r['q1']}": "Because I lead it", f"criterion_{r['criterion']}": "Ten years."},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    add_cv(application_id)


def submit(client, application_id: int, **kwargs):
    return post_form(
        client,
        f"/applications/{application_id}/submit",
        {},
        token_from=f"/applications/{application_id}/review",
        **kwargs,
    )


def receipt_mails() -> list[dict]:
    return fetch(
        OutboxMessage.select().where(OutboxMessage.kind == "receipt").order_by(OutboxMessage.id)
    )


def applicant_client(client, email: str = "rae@example.org"):
    make_applicant(email)
    sign_in_applicant(client, email)
    return client


# ---- The journey ------------------------------------------------------------------


def test_seat_page_links_to_apply_while_open(client):
    r = make_round()
    slug = fetch(Seat.select(Seat.slug).where(Seat.id == r["seat"]).first())["slug"]
    page = client.get(f"/seats/{slug}")
    assert f'href="/applications/start/{r["round"]}"' in page.text


def test_start_page_explains_and_starts_one_application(client):
    applicant_client(client)
    r = make_round()
    page = client.get(f"/applications/start/{r['round']}")
    assert page.status_code == 200
    assert "Apply for Racial equity lead" in page.text and "Start your application" in page.text

    first = start(client, r["round"])
    again = start(client, r["round"])

    assert first == again
    assert "Continue your application" in client.get(f"/applications/start/{r['round']}").text
    assert fetch(Application.count()) == 1


def test_save_draft_keeps_everything_and_says_so(client):
    applicant_client(client)
    r = make_round()
    application_id = start(client, r["round"])

    response = save(
        client,
        application_id,
        {f"question_{r['q1']}": "Because I care", f"criterion_{r['criterion']}": "Years of it."},
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
    r = make_round()
    application_id = start(client, r["round"])

    page = client.get(f"/applications/{application_id}/review")

    assert "Still to do before you can submit" in page.text
    assert (
        f'href="/applications/{application_id}#question_{r["q1"]}">Answer question 1.' in page.text
    )
    assert f"#criterion_{r['criterion']}" in page.text and "Lived experience" in page.text
    assert f'href="/applications/{application_id}/documents">Upload your CV.' in page.text
    assert "Submit your application" not in page.text


def test_submit_gives_receipt_page_and_one_mail(client):
    applicant_client(client)
    r = make_round()
    application_id = start(client, r["round"])
    complete(client, r, application_id)
    review = client.get(f"/applications/{application_id}/review")
    assert "Still to do" not in review.text and "Submit your application" in review.text

    response = submit(client, application_id, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/applications/{application_id}/receipt"
    page = client.get(response.headers["location"])
    app_row = fetch(Application.select().where(Application.id == application_id).first())
    submission = fetch(Submission.select().first())
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
    r = make_round()
    application_id = start(client, r["round"])
    complete(client, r, application_id)

    # A double click: the same page's token, posted twice.
    token = form_token(client, f"/applications/{application_id}/review")
    path = f"/applications/{application_id}/submit"
    first = client.post(path, data={"_csrf_token": token})
    second = client.post(path, data={"_csrf_token": token})

    assert first.status_code == second.status_code == 200
    assert fetch(Submission.count()) == 1
    assert len(receipt_mails()) == 1
    reference = fetch(Application.select(Application.reference).first())["reference"]
    assert reference in first.text and reference in second.text


def test_edit_and_resubmit_gives_new_receipt(client):
    applicant_client(client)
    r = make_round()
    application_id = start(client, r["round"])
    complete(client, r, application_id)
    submit(client, application_id)
    first_hash = fetch(Submission.select().first())["content_hash"]

    save(client, application_id, {f"question_{r['q1']}": "Because I changed it"})
    review = client.get(f"/applications/{application_id}/review")
    assert "You have changed your application since you submitted it" in review.text
    page = submit(client, application_id)

    submissions = fetch(Submission.select().order_by(Submission.version))
    assert [s["version"] for s in submissions] == [1, 2]
    assert submissions[1]["content_hash"] != first_hash
    assert submissions[1]["content_hash"] in page.text and first_hash not in page.text
    mails = receipt_mails()
    assert len(mails) == 2 and "version 2" in mails[1]["body_text"]


def test_my_applications_lists_status_reference_times_and_next_step(client):
    applicant_client(client)
    r = make_round()
    application_id = start(client, r["round"])
    page = client.get("/applications")
    assert "Draft: not submitted" in page.text and "Given when you submit" in page.text
    assert "Closing time" in page.text and "(UK time)" in page.text
    assert "Finish your application and submit it before the closing time" in page.text

    complete(client, r, application_id)
    submit(client, application_id)
    page = client.get("/applications")

    reference = fetch(Application.select(Application.reference).first())["reference"]
    assert "Submitted" in page.text and reference in page.text
    assert "We have your application" in page.text


def test_withdraw_confirms_then_can_start_again(client):
    applicant_client(client)
    r = make_round()
    application_id = start(client, r["round"])
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
    assert fetch(Application.select().first())["status"] == "withdrawn"
    assert start(client, r["round"]) == application_id
    page = client.get(f"/applications/{application_id}")
    assert fetch(Application.select().first())["status"] == "draft"
    assert "Because I lead it" in page.text


def test_submit_inside_grace_is_accepted_and_grace_never_shown(client):
    applicant_client(client)
    r = make_round()
    application_id = start(client, r["round"])
    complete(client, r, application_id)
    token = form_token(client, f"/applications/{application_id}/review")
    just_closed = datetime.now(UTC) - timedelta(minutes=1)
    write(Round.update({Round.closes_at: just_closed}).where(Round.id == r["round"]))

    page = client.post(f"/applications/{application_id}/submit", data={"_csrf_token": token})

    assert page.status_code == 200 and "Application received" in page.text
    assert fetch(Submission.select().first())["in_grace"] is True
    assert "grace" not in page.text.lower()
    assert "grace" not in receipt_mails()[0]["body_text"].lower()
    assert "grace" not in client.get("/applications").text.lower()
