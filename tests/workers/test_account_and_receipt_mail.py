"""Applicant mail end to end: the verification, sign-in link, password reset and receipt
mails each arrive at a real SMTP server (aiosmtpd) through the real delivery actor, with
the right address, subject and content; the links in them work when followed; and no
delivered message, in its raw bytes or decoded, contains a password the test used."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC

import pytest
from aiosmtpd.controller import Controller

from portal.domain.timerules import format_instant
from portal.tables import Application, Submission, User
from tests.conftest import post_form
from tests.factories import make_round, run
from tests.web.test_apply_journey import OPEN_ROUND, save, start, submit
from tests.web.test_documents import PDF, upload
from tests.workers.conftest import SmtpCollector, free_port

PASSWORD = "a long enough applicant password"
NEW_PASSWORD = "another long enough password"
PASSWORDS = (PASSWORD, NEW_PASSWORD)
EMAIL = "rae@example.org"


@pytest.fixture
def mailbox() -> Iterator[SmtpCollector]:
    handler = SmtpCollector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.url = f"smtp://127.0.0.1:{port}"
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def app(make_client, mailbox):
    """A client on an app that sends its mail to the test's SMTP server."""
    return make_client(smtp_url=mailbox.url)


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def delivered(mailbox: SmtpCollector, subject: str):
    """The one delivered message with this subject, checked for its envelope too."""
    found = [m for m in mailbox.messages if m["Subject"] == subject]
    assert len(found) == 1, [m["Subject"] for m in mailbox.messages]
    mail = found[0]
    assert mail["To"] == EMAIL
    assert mailbox.envelopes[mailbox.messages.index(mail)] == [EMAIL]
    assert mail["From"] == "Seat portal <no-reply@localhost>"
    assert mail["Auto-Submitted"] == "auto-generated"
    return mail


def link_in(mail, path: str) -> str:
    text = text_of(mail)
    match = re.search(rf"http://testserver\.local({path}[A-Za-z0-9_\-]+)", text)
    assert match, text
    assert match.group(1) in html_of(mail)  # the HTML part carries the same link
    return match.group(1)


def assert_no_password_delivered(mailbox: SmtpCollector) -> None:
    """No password in any delivered message: raw bytes, and every decoded part."""
    assert mailbox.raw and len(mailbox.raw) == len(mailbox.messages)
    for raw, message in zip(mailbox.raw, mailbox.messages, strict=True):
        for password in PASSWORDS:
            assert password.encode() not in raw
            for part in message.walk():
                if part.get_content_maintype() == "text":
                    assert password not in part.get_content()


def register_and_confirm(client, mailbox, drain) -> None:
    """Register, receive the verification mail, confirm with a password, sign out."""
    post_form(client, "/account/register", {"name": "Rae Applicant", "email": EMAIL})
    drain()
    path = link_in(
        delivered(mailbox, "Confirm your email address for the Seat portal"), "/account/verify/"
    )
    post_form(client, path, {"password": PASSWORD, "confirm": PASSWORD})
    post_form(client, "/account/sign-out", {}, token_from="/account/profile")


def password_sign_in(client, password: str = PASSWORD):
    return post_form(
        client,
        "/account/sign-in",
        {"email": EMAIL, "password": password},
        follow_redirects=False,
    )


# ---- Account mail -----------------------------------------------------------------


def test_verification_mail_arrives_and_its_link_confirms(app, mailbox, drain):
    response = post_form(
        app,
        "/account/register",
        {"name": "Rae Applicant", "email": EMAIL},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303)
    drain()

    mail = delivered(mailbox, "Confirm your email address for the Seat portal")
    text = text_of(mail)
    assert "Hello Rae Applicant" in text and "(UK time)" in text
    path = link_in(mail, "/account/verify/")
    assert "Confirm your email address" in app.get(path).text
    done = post_form(app, path, {"password": PASSWORD, "confirm": PASSWORD}, follow_redirects=False)
    assert done.status_code in (302, 303)
    assert "Your email address is confirmed" in app.get(done.headers["location"]).text
    user = run(User.select().where(User.email == EMAIL).first())
    assert user["email_verified_at"] is not None
    assert password_sign_in(app).status_code in (302, 303)
    drain()
    assert_no_password_delivered(mailbox)


def test_sign_in_link_mail_arrives_and_signs_in_from_the_same_client(app, mailbox, drain):
    register_and_confirm(app, mailbox, drain)
    assert app.get("/account/profile").status_code == 401

    post_form(app, "/account/sign-in/link", {"email": EMAIL}, token_from="/account/sign-in")
    drain()

    mail = delivered(mailbox, "Your sign-in link for the Seat portal")
    assert "15 minutes" in text_of(mail)
    path = link_in(mail, "/account/link/")
    assert "Sign in as" in app.get(path).text
    done = post_form(app, path, {}, follow_redirects=False)
    assert done.headers["location"] == "/account/profile"
    assert app.get("/account/profile").status_code == 200
    assert_no_password_delivered(mailbox)


def test_reset_mail_arrives_and_its_link_sets_a_password(app, mailbox, drain):
    register_and_confirm(app, mailbox, drain)

    post_form(app, "/account/reset", {"email": EMAIL})
    drain()

    mail = delivered(mailbox, "Reset your password for the Seat portal")
    path = link_in(mail, "/account/reset/")
    done = post_form(
        app, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=False
    )
    assert done.headers["location"] == "/account/profile?reset=1"
    assert "Your new password is set" in app.get(done.headers["location"]).text
    post_form(app, "/account/sign-out", {}, token_from="/account/profile")
    assert password_sign_in(app).status_code == 400
    assert password_sign_in(app, NEW_PASSWORD).status_code in (302, 303)
    drain()
    assert_no_password_delivered(mailbox)


# ---- The receipt ------------------------------------------------------------------


def test_receipt_mail_arrives_with_reference_times_and_hash(app, mailbox, drain):
    register_and_confirm(app, mailbox, drain)
    assert password_sign_in(app).status_code in (302, 303)
    r = run(make_round(**OPEN_ROUND))
    application_id = start(app, r.round_id)
    saved = save(
        app,
        application_id,
        {
            f"question_{r.questions[0]}": "Because I lead it",
            f"criterion_{r.criteria[0]}": "Ten years.",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert upload(app, application_id, PDF, "cv.pdf").status_code == 303
    response = submit(app, application_id, follow_redirects=False)
    assert response.headers["location"] == f"/applications/{application_id}/receipt"
    page = app.get(response.headers["location"]).text
    drain()

    reference = run(Application.select().where(Application.id == application_id).first())[
        "reference"
    ]
    submission = run(Submission.select().where(Submission.application == application_id).first())
    utc_text = submission["received_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    uk_text = format_instant(submission["received_at"], "Europe/London")
    assert reference in page and submission["content_hash"] in page and utc_text in page

    mail = delivered(mailbox, f"Application received: {reference} for Racial equity lead")
    for body in (text_of(mail), html_of(mail)):
        assert reference in body
        assert utc_text in body
        assert uk_text in body and "(UK time)" in body
        assert submission["content_hash"] in body
    assert f"http://testserver.local/applications/{application_id}/receipt" in text_of(mail)
    assert_no_password_delivered(mailbox)
