"""The applicant's profile, and hostile input on every account form."""

from __future__ import annotations

import pytest

from portal.tables import AuditEvent, OutboxMessage, User
from tests.conftest import post_form
from tests.factories import run
from tests.web.test_account_access import (
    PASSWORD,
    outbox_rows,
    password_sign_in,
    register,
    registered,
)

PROFILE = {
    "name": "Rae Applicant",
    "organisation": "Small Org CIC",
    "job_title": "Director",
    "phone": "+44 20 7946 0000",
    "adjustments": "Please send papers in large print.",
}


@pytest.fixture
def applicant_client(client):
    registered(client)
    assert password_sign_in(client, follow_redirects=False).status_code in (302, 303)
    return client


def save(client, **changes):
    return post_form(client, "/account/profile", {**PROFILE, **changes}, follow_redirects=False)


def stored() -> dict:
    return run(User.select().where(User.email == "rae@example.org").first())


def test_profile_saves_and_shows_again(applicant_client):
    response = save(applicant_client)
    assert response.headers["location"] == "/account/profile?saved=1"
    page = applicant_client.get(response.headers["location"])
    assert "Your profile is saved." in page.text
    for value in (
        "Small Org CIC",
        "Director",
        "+44 20 7946 0000",
        "Please send papers in large print.",
    ):
        assert value in page.text
    row = stored()
    assert (
        row["organisation"] == "Small Org CIC"
        and row["adjustments"] == "Please send papers in large print."
    )


def test_adjustments_are_a_secret_column_and_stay_out_of_the_audit_log(applicant_client):
    save(applicant_client)
    row = run(User.select(exclude_secrets=True).where(User.email == "rae@example.org").first())
    assert "adjustments" not in row
    [event] = run(AuditEvent.select().where(AuditEvent.action == "applicant.profile_updated"))
    assert "large print" not in str(event["detail"])
    assert "adjustments" in str(event["detail"])  # which fields changed, not what they say


def test_profile_escapes_html(applicant_client):
    save(
        applicant_client,
        name="<script>alert(1)</script>",
        organisation='"><img src=x onerror=alert(1)>',
    )
    page = applicant_client.get("/account/profile")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text


def test_profile_refuses_overlong_fields_and_keeps_what_was_saved(applicant_client):
    save(applicant_client)
    response = save(
        applicant_client, organisation="x" * 201, adjustments="y" * 5001, phone="1" * 41
    )
    assert response.status_code == 400
    assert "Keep the organisation under 200 characters." in response.text
    assert "Keep the adjustments request under 5000 characters." in response.text
    assert "Keep the phone number under 40 characters." in response.text
    assert 'href="#organisation"' in response.text  # the error summary links to the field
    assert stored()["organisation"] == "Small Org CIC"


def test_profile_refuses_nul_byte(applicant_client):
    save(applicant_client)
    response = save(applicant_client, name="Rae\x00Applicant", adjustments="bad\x00byte")
    assert response.status_code == 400
    assert "Your name contains a character that cannot be used." in response.text
    assert "The adjustments request contains a character that cannot be used." in response.text
    assert stored()["name"] == "Rae Applicant"


def test_profile_refuses_malformed_phone_and_empty_name(applicant_client):
    response = save(applicant_client, phone="call me maybe", name="   ")
    assert response.status_code == 400
    assert "Enter a phone number using digits" in response.text
    assert "Enter a name." in response.text


def test_profile_ignores_fields_that_try_to_change_role_or_email(applicant_client, client):
    response = post_form(
        applicant_client,
        "/account/profile",
        {
            **PROFILE,
            "role": "admin",
            "email": "evil@example.org",
            "is_active": "0",
            "email_verified_at": "",
        },
        follow_redirects=False,
    )
    assert response.status_code in (302, 303)
    row = stored()
    assert row["role"] == "applicant" and row["is_active"] and row["email_verified_at"] is not None
    assert applicant_client.get("/admin").status_code == 403


def test_register_ignores_a_role_field(client):
    post_form(
        client, "/account/register", {"name": "Mal", "email": "mal@example.org", "role": "admin"}
    )
    assert (
        run(User.select(User.role).where(User.email == "mal@example.org").first())["role"]
        == "applicant"
    )


def test_anonymous_profile_post_is_refused(client):
    response = post_form(client, "/account/profile", PROFILE, token_from="/account/sign-in")
    assert response.status_code == 401


# ---- Hostile input on the public forms --------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "a@b.org\r\nBcc: x@y.org",
        "a@b.org\nBcc: x@y.org",
        "Rae <rae@example.org>",
        "a@b.org, x@y.org",
        "not an address",
        "a\x00@b.org",
        "a" * 250 + "@b.org",
    ],
)
def test_register_refuses_malformed_address_and_sends_nothing(client, email):
    response = register(client, email=email)
    assert response.status_code == 400
    assert (
        "Enter an email address like name@example.org." in response.text
        or "under 254" in response.text
    )
    assert run(OutboxMessage.count()) == 0
    assert run(User.count()) == 0


def test_link_and_reset_requests_with_header_injection_send_nothing(client):
    registered(client)
    before = len(outbox_rows())
    for path, token_from in (
        ("/account/sign-in/link", "/account/sign-in"),
        ("/account/reset", "/account/reset"),
    ):
        response = post_form(
            client,
            path,
            {"email": "rae@example.org\r\nBcc: x@y.org"},
            token_from=token_from,
            follow_redirects=False,
        )
        assert response.status_code in (302, 303)  # the same answer as for any unknown address
    assert len(outbox_rows()) == before
    assert all("x@y.org" not in m["recipient"] for m in outbox_rows())


def test_register_escapes_html_in_name_on_page_and_in_html_mail(client):
    response = register(client, name="<b>Rae</b>", email="bad@example.org\x00")
    assert response.status_code == 400
    assert "<b>Rae</b>" not in response.text and "&lt;b&gt;Rae&lt;/b&gt;" in response.text
    register(client, name="<b>Rae</b>")
    [mail] = outbox_rows()
    assert "&lt;b&gt;Rae&lt;/b&gt;" in mail["body_html"] and "<b>Rae</b>" not in mail["body_html"]


def test_register_refuses_overlong_and_nul_name(client):
    assert "Keep the name under 200 characters." in register(client, name="x" * 201).text
    response = register(client, name="Rae\x00")
    assert response.status_code == 400
    assert "Your name contains a character that cannot be used." in response.text
    assert run(User.count()) == 0


@pytest.mark.parametrize("path", ["/account/verify/", "/account/link/", "/account/reset/"])
@pytest.mark.parametrize("token", ["nonsense", "x" * 5000, "%00", "..%2F..%2Fadmin"])
def test_made_up_tokens_are_refused_clearly(client, path, token):
    page = client.get(path + token)
    assert page.status_code == 404
    # A token with slashes in it is not even one of our paths: the general 404 page.
    assert "This link cannot be used" in page.text or "Page not found" in page.text


def test_someone_elses_token_of_another_kind_does_not_work(client):
    registered(client)
    post_form(client, "/account/reset", {"email": "rae@example.org"})
    reset_path = [m for m in outbox_rows() if m["kind"] == "reset"][0]
    token = reset_path["body_text"].split("/account/reset/")[1].split()[0]
    # A reset token used as a confirmation or sign-in link is not one.
    assert client.get(f"/account/verify/{token}").status_code == 404
    assert client.get(f"/account/link/{token}").status_code == 404
    assert client.get(f"/account/reset/{token}").status_code == 200


def test_overlong_password_is_refused_without_an_error_page(client):
    registered(client)
    response = password_sign_in(client, password="p" * 100_000)
    assert response.status_code == 400
    assert "The email address or password is not right." in response.text
    assert PASSWORD  # the stored password still works
    assert password_sign_in(client, follow_redirects=False).status_code in (302, 303)
