"""The grace is not a hidden extension (issue 10, defect 2), through the pages.

- Once the round leaves collecting, no applicant write is taken, grace or not: save,
  upload, submit, withdraw and start are each refused with the closing time.
- In the grace, only work that existed at the close is finished: a draft is saved, gets
  its CV and is submitted; no application is started (or started again); a submitted
  application is not changed or withdrawn, though changes saved before the close can
  still be submitted.
- Moving a round to scoring while applicants could still write asks the admin first.
- Pages and receipts never say an application can still change after its deadline.

Each write is also sent with hostile extras (forged status, stage or round fields) that
must change nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from portal.tables import Answer, Application, AuditEvent, Document, Round, Submission
from tests.conftest import form_token, post_form
from tests.factories import make_round, run, set_stage, write
from tests.web.test_apply_journey import (
    CV,
    OPEN_ROUND,
    applicant_client,
    complete,
    receipt_mails,
    start,
)
from tests.web.test_documents import multipart_body, post_raw

FORGED = {"status": "submitted", "stage": "collecting", "round": "1", "closes_at": "2099-01-01"}


@dataclass
class Tokens:
    """CSRF tokens read from the pages while the round was open: a browser's open tabs."""

    form: str
    review: str
    withdraw: str
    documents: str


@dataclass
class Draft:
    round_id: int
    application_id: int
    question_id: int
    tokens: Tokens


def tokens_for(client, application_id: int) -> Tokens:
    base = f"/applications/{application_id}"
    return Tokens(
        form=form_token(client, base),
        review=form_token(client, f"{base}/review"),
        withdraw=form_token(client, f"{base}/withdraw"),
        documents=form_token(client, f"{base}/documents"),
    )


def complete_draft(client) -> Draft:
    """A signed-in applicant's complete draft (answers and CV) in an open round."""
    applicant_client(client)
    r = run(make_round(**OPEN_ROUND))  # grace: 10 minutes
    application_id = start(client, r.round_id)
    complete(client, r, application_id)
    return Draft(r.round_id, application_id, r.questions[0], tokens_for(client, application_id))


def close_minutes_ago(round_id: int, minutes: float = 1) -> datetime:
    """Closing time `minutes` ago: with the 10-minute grace, 1 is inside it."""
    closes = datetime.now(UTC) - timedelta(minutes=minutes)
    write(lambda: Round.update({Round.closes_at: closes}).where(Round.id == round_id))
    return closes


def answer_text(application_id: int, question_id: int) -> str:
    row = run(
        Answer.select(Answer.text)
        .where((Answer.application == application_id) & (Answer.question == question_id))
        .first()
    )
    return row["text"]


def save_with(client, d: Draft, text: str, **extra):
    data = {"_csrf_token": d.tokens.form, f"question_{d.question_id}": text, **FORGED, **extra}
    return client.post(f"/applications/{d.application_id}", data=data, follow_redirects=False)


def upload_with(client, d: Draft, data: bytes = CV, filename: str = "new cv.pdf"):
    body = multipart_body(
        [("_csrf_token", None, d.tokens.documents.encode()), ("file", filename, data)]
    )
    return post_raw(client, f"/applications/{d.application_id}/documents/cv", body)


def submit_with(client, d: Draft):
    return client.post(
        f"/applications/{d.application_id}/submit",
        data={"_csrf_token": d.tokens.review, **FORGED},
        follow_redirects=False,
    )


def withdraw_with(client, d: Draft):
    return client.post(
        f"/applications/{d.application_id}/withdraw",
        data={"_csrf_token": d.tokens.withdraw, **FORGED},
        follow_redirects=False,
    )


def cv_bytes(application_id: int) -> bytes:
    row = run(
        Document.select(Document.data)
        .where((Document.application == application_id) & (Document.kind == "cv"))
        .first()
    )
    return bytes(row["data"])


def status_of(application_id: int) -> str:
    return run(Application.select(Application.status).where(Application.id == application_id))[0][
        "status"
    ]


# ---- Once the round leaves collecting: nothing, grace or not ---------------------------


def test_no_applicant_write_after_the_round_moves_to_scoring_even_in_the_grace(make_client):
    client = make_client()
    d = complete_draft(client)
    late = make_client()
    applicant_client(late, "late@example.org")
    start_token = form_token(late, f"/applications/start/{d.round_id}")
    close_minutes_ago(d.round_id, 1)  # inside the 10-minute grace
    run(set_stage(d.round_id, "scoring"))

    saved = save_with(client, d, "Changed after the stage change")
    uploaded = upload_with(client, d, CV + b"changed")
    submitted = submit_with(client, d)
    withdrawn = withdraw_with(client, d)
    started = late.post(
        f"/applications/start/{d.round_id}", data={"_csrf_token": start_token, **FORGED}
    )

    for response in (saved, uploaded, submitted, withdrawn, started):
        assert response.status_code == 409, response.text[:300]
        assert "This round closed at" in response.text and "(UK time)" in response.text
        assert "the panel&#39;s work on it has begun" in response.text
    assert answer_text(d.application_id, d.question_id) == "Because I lead it"
    assert cv_bytes(d.application_id) == CV
    assert run(Submission.count()) == 0
    assert status_of(d.application_id) == "draft"
    assert run(Application.count()) == 1  # nobody started
    # Still readable by its owner, with no form to change it.
    page = client.get(f"/applications/{d.application_id}")
    assert "Because I lead it" in page.text and "<textarea" not in page.text


# ---- In the grace: only work that existed at the close -----------------------------------


def test_no_application_started_in_the_grace(make_client):
    owner = make_client()
    d = complete_draft(owner)
    newcomer = make_client()
    applicant_client(newcomer, "newcomer@example.org")
    token = form_token(newcomer, f"/applications/start/{d.round_id}")
    close_minutes_ago(d.round_id, 1)

    refused = newcomer.post(
        f"/applications/start/{d.round_id}", data={"_csrf_token": token, **FORGED}
    )

    assert refused.status_code == 409
    assert "This round closed at" in refused.text
    assert "New applications can no longer be started" in refused.text
    assert run(Application.count()) == 1
    page = newcomer.get(f"/applications/start/{d.round_id}")
    assert "Applications can no longer be started" in page.text
    assert "Start your application</button>" not in page.text
    # The owner's own draft is resumed, not started: nothing is written.
    resumed = post_form(
        owner, f"/applications/start/{d.round_id}", {}, token_from="/account/profile"
    )
    assert resumed.url.path == f"/applications/{d.application_id}"


@pytest.mark.parametrize("round_id", ["0", "-1", "999999999999", "abc", "1.5"])
def test_start_with_a_hostile_round_id_is_not_found(client, round_id):
    applicant_client(client)
    token = form_token(client, "/account/profile")
    response = client.post(f"/applications/start/{round_id}", data={"_csrf_token": token})
    assert response.status_code in (400, 404)
    assert run(Application.count()) == 0


def test_a_withdrawn_application_is_not_started_again_in_the_grace(client):
    d = complete_draft(client)
    assert withdraw_with(client, d).status_code == 303
    token = form_token(client, f"/applications/start/{d.round_id}")
    close_minutes_ago(d.round_id, 1)

    response = client.post(f"/applications/start/{d.round_id}", data={"_csrf_token": token})

    assert response.status_code == 409 and "can no longer be started" in response.text
    assert status_of(d.application_id) == "withdrawn"
    assert "start it again" not in client.get(f"/applications/{d.application_id}").text
    assert "start it again" not in client.get("/applications").text


def test_in_the_grace_a_draft_started_before_the_close_is_saved_uploaded_and_submitted(client):
    d = complete_draft(client)
    closes = close_minutes_ago(d.round_id, 1)

    saved = save_with(client, d, "Finished in the grace")
    uploaded = upload_with(client, d, CV + b"final")
    submitted = submit_with(client, d)

    assert saved.status_code == 303 and uploaded.status_code == 303, saved.text[:300]
    assert submitted.status_code == 303, submitted.text[:300]
    assert answer_text(d.application_id, d.question_id) == "Finished in the grace"
    assert cv_bytes(d.application_id) == CV + b"final"
    submission = run(Submission.select().first())
    assert submission["in_grace"] is True and submission["received_at"] >= closes
    receipt = client.get(f"/applications/{d.application_id}/receipt").text
    assert "Application received" in receipt
    assert "has passed, so your application can no longer be changed" in receipt
    assert "Until the closing time" not in receipt and "grace" not in receipt.lower()
    mail = receipt_mails()[-1]
    for body in (mail["body_text"], mail["body_html"]):
        assert "can no longer be changed" in body
        assert "Until the closing time" not in body and "grace" not in body.lower()


def test_in_the_grace_a_submitted_application_is_not_changed_or_withdrawn(client):
    d = complete_draft(client)
    assert submit_with(client, d).status_code == 303
    close_minutes_ago(d.round_id, 1)

    saved = save_with(client, d, "A new version after the close")
    uploaded = upload_with(client, d, CV + b"after the close")
    withdrawn = withdraw_with(client, d)
    again = submit_with(client, d)

    for response in (saved, uploaded, withdrawn):
        assert response.status_code == 409 and "This round closed at" in response.text
    assert answer_text(d.application_id, d.question_id) == "Because I lead it"
    assert cv_bytes(d.application_id) == CV
    assert status_of(d.application_id) == "submitted"
    # Nothing changed, so submitting again is the same receipt, not a new version.
    assert again.status_code == 303 and run(Submission.count()) == 1
    for path in ("", "/review", "/receipt", "/withdraw"):
        page = client.get(f"/applications/{d.application_id}{path}").text
        assert "until the closing time" not in page.lower(), path
        assert "Withdraw this application" not in page and "grace" not in page.lower()
    assert "can change it and submit again" not in client.get("/applications").text


def test_in_the_grace_changes_saved_before_the_close_can_still_be_submitted(client):
    d = complete_draft(client)
    assert submit_with(client, d).status_code == 303
    assert save_with(client, d, "Changed before the close").status_code == 303
    close_minutes_ago(d.round_id, 1)

    review = client.get(f"/applications/{d.application_id}/review").text
    response = submit_with(client, d)

    assert "Submit your changes</button>" in review and "until the closing time" not in review
    assert response.status_code == 303
    versions = run(Submission.select(Submission.version, Submission.in_grace))
    assert [(v["version"], v["in_grace"]) for v in versions] == [(1, False), (2, True)]


def test_after_the_grace_a_draft_is_read_only_and_says_so(client):
    d = complete_draft(client)
    close_minutes_ago(d.round_id, 11)

    assert save_with(client, d, "Too late").status_code == 409
    assert submit_with(client, d).status_code == 409
    page = client.get(f"/applications/{d.application_id}").text
    assert "The closing time has passed" in page and "<textarea" not in page
    listing = client.get("/applications").text
    assert "will not be considered" in listing and "before the closing time" not in listing


def test_before_the_deadline_pages_say_until_when_it_can_change(client):
    d = complete_draft(client)
    assert submit_with(client, d).status_code == 303

    receipt = client.get(f"/applications/{d.application_id}/receipt").text
    mail = receipt_mails()[-1]["body_text"]

    assert "Until the closing time," in receipt and "you can" in receipt
    assert "Until the closing time," in mail


# ---- The admin's side ----------------------------------------------------------------


def test_moving_to_scoring_in_the_grace_asks_the_admin_first(make_client, admin_client):
    applicant = make_client()
    d = complete_draft(applicant)
    close_minutes_ago(d.round_id, 1)
    round_page = f"/admin/rounds/{d.round_id}"

    page = admin_client.get(round_page)
    asked = post_form(
        admin_client, f"{round_page}/stage", {"stage": "scoring"}, token_from=round_page
    )
    unticked = post_form(
        admin_client,
        f"{round_page}/stage",
        {"stage": "scoring", "asked": "1"},
        token_from=round_page,
    )

    assert "only lets work that existed at the closing time be finished" in page.text
    assert 'id="cutoff"' in page.text and "Applications may still arrive until" in page.text
    assert asked.status_code == 409
    assert "Applications can still arrive until" in asked.text
    assert "1 application is still a draft" in asked.text
    assert 'name="confirm"' in asked.text and "Tick the box" not in asked.text
    assert unticked.status_code == 409 and "Tick the box to confirm" in unticked.text
    assert run(Round.select(Round.stage).first())["stage"] == "collecting"

    moved = post_form(
        admin_client,
        f"{round_page}/stage",
        {"stage": "scoring", "asked": "1", "confirm": "1"},
        token_from=round_page,
        follow_redirects=False,
    )

    assert moved.status_code == 303
    assert run(Round.select(Round.stage).first())["stage"] == "scoring"
    event = run(
        AuditEvent.select(AuditEvent.detail)
        .where(AuditEvent.action == "round.stage.scoring")
        .first()
    )
    assert "cut_off_until" in str(event["detail"])
    assert save_with(applicant, d, "Too late now").status_code == 409


def test_after_the_grace_the_move_to_scoring_needs_no_confirmation(admin_client, make_client):
    d = complete_draft(make_client())
    close_minutes_ago(d.round_id, 11)
    round_page = f"/admin/rounds/{d.round_id}"

    assert 'id="cutoff"' not in admin_client.get(round_page).text
    moved = post_form(
        admin_client,
        f"{round_page}/stage",
        {"stage": "scoring"},
        token_from=round_page,
        follow_redirects=False,
    )

    assert moved.status_code == 303
    assert re.search(r"Scoring", admin_client.get(round_page).text)


@pytest.mark.parametrize("confirm", ["0", "", "no", "<script>", "1" * 5000])
def test_the_cutoff_is_not_confirmed_by_hostile_input(make_client, admin_client, confirm):
    d = complete_draft(make_client())
    close_minutes_ago(d.round_id, 1)
    round_page = f"/admin/rounds/{d.round_id}"

    response = post_form(
        admin_client,
        f"{round_page}/stage",
        {"stage": "scoring", "asked": "1", "confirm": confirm, "reason": "<b>x</b>" * 600},
        token_from=round_page,
        follow_redirects=False,
    )

    assert response.status_code == 409
    assert "<b>x</b>" not in response.text and "<script>" not in response.text
    assert run(Round.select(Round.stage).first())["stage"] == "collecting"
