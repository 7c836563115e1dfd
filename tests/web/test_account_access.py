"""Applicant accounts: register, confirm, sign in by password or link, reset, sign out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.domain.timerules import utcnow
from portal.tables import AccountToken, AuditEvent, OutboxMessage, User
from tests.conftest import ADMIN_PASSWORD, form_token, post_form
from tests.factories import run

PASSWORD = "a long enough applicant password"


def outbox_rows(kind: str | None = None) -> list[dict]:
    query = OutboxMessage.select().order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return run(query)


def link_in(row: dict, path: str) -> str:
    match = re.search(rf"http://testserver\.local({path}[A-Za-z0-9_\-]+)", row["body_text"])
    assert match, row["body_text"]
    return match.group(1)


def register(client, name="Rae Applicant", email="rae@example.org", **kwargs):
    return post_form(client, "/account/register", {"name": name, "email": email}, **kwargs)


def confirm(client, path: str, password: str = "", **kwargs):
    return post_form(client, path, {"password": password, "confirm": password}, **kwargs)


def password_sign_in(client, email="rae@example.org", password=PASSWORD, **kwargs):
    return post_form(client, "/account/sign-in", {"email": email, "password": password}, **kwargs)


def ask_for_link(client, email="rae@example.org", **kwargs):
    return post_form(
        client, "/account/sign-in/link", {"email": email}, token_from="/account/sign-in", **kwargs
    )


def registered(client, email="rae@example.org", password=PASSWORD) -> int:
    """An applicant who confirmed their address and chose a password, then signed out."""
    register(client, email=email)
    confirm(client, link_in(outbox_rows("verify")[-1], "/account/verify/"), password)
    post_form(client, "/account/sign-out", {}, token_from="/account/sign-in")
    return run(User.select(User.id).where(User.email == email).first())["id"]


# ---- Register and confirm ---------------------------------------------------------


def test_register_then_confirm_link_signs_in(client):
    response = register(client, follow_redirects=False)
    assert response.status_code in (302, 303)
    page = client.get(response.headers["location"])
    assert "Check your email" in page.text

    [mail] = outbox_rows()
    assert mail["kind"] == "verify" and mail["recipient"] == "rae@example.org"
    assert mail["subject"] == "Confirm your email address for the Seat portal"
    assert "Hello Rae Applicant" in mail["body_text"] and "(UK time)" in mail["body_text"]
    path = link_in(mail, "/account/verify/")
    assert path in mail["body_html"]
    user = run(User.select().where(User.email == "rae@example.org").first())
    assert (
        user["role"] == "applicant"
        and user["email_verified_at"] is None
        and user["password_hash"] is None
    )
    assert client.get("/account/profile").status_code == 401

    form = client.get(path)
    assert "Confirm your email address" in form.text and "rae@example.org" in form.text
    done = confirm(client, path, follow_redirects=False)
    assert done.status_code in (302, 303)
    profile = client.get(done.headers["location"])
    assert profile.status_code == 200
    assert "Your email address is confirmed and you are signed in." in profile.text
    assert run(User.select().where(User.id == user["id"]).first())["email_verified_at"] is not None


def test_confirm_link_works_only_once(client, another_app_client):
    register(client)
    path = link_in(outbox_rows()[0], "/account/verify/")
    confirm(client, path)
    with another_app_client() as other:
        again = other.get(path)
        assert again.status_code == 404
        assert (
            "This confirmation link is not valid, has expired or has already been used."
            in again.text
        )


def test_confirm_link_expires_after_24_hours(client):
    register(client)
    path = link_in(outbox_rows()[0], "/account/verify/")
    token = run(AccountToken.select().first())
    assert token["expires_at"] - token["created_at"] == timedelta(hours=24)
    run(AccountToken.update({AccountToken.expires_at: utcnow() - timedelta(seconds=1)}, force=True))
    assert client.get(path).status_code == 404
    assert confirm(client, path, token_from="/account/register").status_code == 404
    assert run(User.select().first())["email_verified_at"] is None


def test_confirm_with_password_then_password_sign_in_rotates_session(client):
    registered(client)
    form_token(client, "/account/sign-in")
    client.cookies.set("portal_session", "a" * 64, domain="testserver.local")
    response = password_sign_in(client, follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/account/profile"
    assert client.cookies.get("portal_session", domain="testserver.local") not in (None, "a" * 64)
    assert client.get("/account/profile").status_code == 200
    client.cookies.set("portal_session", "a" * 64, domain="testserver.local")
    assert client.get("/account/profile").status_code == 401


def test_confirm_with_short_password_keeps_link_usable(client):
    register(client)
    path = link_in(outbox_rows()[0], "/account/verify/")
    response = confirm(client, path, "short")
    assert response.status_code == 400
    assert "Choose a password of at least 12 characters." in response.text
    assert confirm(client, path, PASSWORD, follow_redirects=False).status_code in (302, 303)


def test_register_existing_address_gets_same_page_and_mail_to_owner(client, admin_id):
    first = register(client, email="rae@example.org")
    confirm(client, link_in(outbox_rows()[0], "/account/verify/"))
    again = register(client, name="Someone Else", email="RAE@example.org")
    admin = register(client, name="Not Ada", email="ada@example.org")
    assert first.text == again.text == admin.text
    [rae, ada] = outbox_rows("already_registered")
    assert rae["recipient"] == "rae@example.org" and ada["recipient"] == "ada@example.org"
    assert "You already have an account" in rae["subject"]
    assert "http://testserver.local/account/sign-in" in rae["body_text"]
    assert "http://testserver.local/account/reset" in rae["body_text"]
    # Nothing about the account changed.
    assert (
        run(User.select(User.name).where(User.email == "rae@example.org").first())["name"]
        == "Rae Applicant"
    )
    assert (
        run(User.select(User.role).where(User.email == "ada@example.org").first())["role"]
        == "admin"
    )


def test_registering_again_before_confirming_sends_a_fresh_link(client):
    register(client)
    register(client, name="Someone Else")
    first, second = outbox_rows("verify")
    assert (
        client.get(link_in(first, "/account/verify/")).status_code == 404
    )  # only the newest works
    assert client.get(link_in(second, "/account/verify/")).status_code == 200
    assert (
        "Hello Rae Applicant" in second["body_text"]
    )  # the name is not replaced by an unproven one


# ---- Sign-in links ----------------------------------------------------------------


def test_sign_in_link_signs_in_once_in_the_same_browser(client):
    registered(client)
    response = ask_for_link(client, follow_redirects=False)
    assert response.status_code in (302, 303)
    assert "portal_link_nonce" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    [mail] = outbox_rows("sign_in")
    assert mail["subject"] == "Your sign-in link for the Seat portal"
    assert "15 minutes" in mail["body_text"]
    path = link_in(mail, "/account/link/")
    token = run(AccountToken.select().where(AccountToken.purpose == "sign_in").first())
    assert token["expires_at"] - token["created_at"] == timedelta(minutes=15)
    assert token["nonce_hash"]

    assert "Sign in as" in client.get(path).text
    done = post_form(client, path, {}, follow_redirects=False)
    assert done.headers["location"] == "/account/profile"
    assert client.get("/account/profile").status_code == 200
    post_form(client, "/account/sign-out", {}, token_from="/account/profile")
    again = post_form(client, path, {}, token_from="/account/sign-in")
    assert again.status_code == 404
    assert "This sign-in link is not valid, has expired or has already been used." in again.text
    assert client.get("/account/profile").status_code == 401


def test_sign_in_link_forwarded_to_another_browser_does_not_sign_in(client, another_app_client):
    registered(client)
    ask_for_link(client)
    path = link_in(outbox_rows("sign_in")[0], "/account/link/")
    with another_app_client() as other:
        page = other.get(path)
        assert page.status_code == 403
        assert "only works in the browser where it was requested" in page.text
        other.cookies.set("portal_link_nonce", "x" * 43, domain="testserver.local", path="/account")
        refused = post_form(other, path, {}, token_from="/account/sign-in")
        assert refused.status_code == 403
        assert other.get("/account/profile").status_code == 401
    # Not spent by the refusal: the owner's browser can still use it.
    assert post_form(client, path, {}, follow_redirects=False).status_code in (302, 303)


def test_sign_in_link_expires_after_15_minutes(client):
    registered(client)
    ask_for_link(client)
    path = link_in(outbox_rows("sign_in")[0], "/account/link/")
    run(
        AccountToken.update({AccountToken.expires_at: utcnow() - timedelta(seconds=1)}).where(
            AccountToken.purpose == "sign_in"
        )
    )
    assert client.get(path).status_code == 404
    assert post_form(client, path, {}, token_from="/account/sign-in").status_code == 404
    assert client.get("/account/profile").status_code == 401


def test_link_request_answers_the_same_for_unknown_address(client):
    registered(client)
    known = ask_for_link(client, follow_redirects=False)
    unknown = ask_for_link(client, email="nobody@example.org", follow_redirects=False)
    assert known.status_code == unknown.status_code
    assert known.headers["location"] == unknown.headers["location"]
    assert "portal_link_nonce" in unknown.headers["set-cookie"]
    assert [m["recipient"] for m in outbox_rows("sign_in")] == ["rae@example.org"]


def test_two_links_asked_in_one_browser_both_work_until_one_is_used(client):
    registered(client)
    ask_for_link(client)
    ask_for_link(client)
    first, second = (link_in(m, "/account/link/") for m in outbox_rows("sign_in"))
    assert client.get(first).status_code == 200
    post_form(client, second, {})
    assert client.get("/account/profile").status_code == 200
    assert client.get(first).status_code == 404  # using one retires the others


# ---- Password sign-in -------------------------------------------------------------


def test_wrong_password_and_unknown_address_get_the_same_message(client):
    registered(client)
    wrong = password_sign_in(client, password="not the right password")
    unknown = password_sign_in(client, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 400
    assert "The email address or password is not right." in wrong.text
    assert "The email address or password is not right." in unknown.text
    assert client.get("/account/profile").status_code == 401


def test_admin_credentials_do_not_open_applicant_pages(client, admin_id):
    response = password_sign_in(client, email="ada@example.org", password=ADMIN_PASSWORD)
    assert response.status_code == 400
    assert "The email address or password is not right." in response.text


def test_sign_in_next_is_local_only(client):
    registered(client)
    response = post_form(
        client,
        "/account/sign-in",
        {"email": "rae@example.org", "password": PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/account/profile"


# ---- Reset ------------------------------------------------------------------------


def test_password_reset_sets_new_password_once(client, another_app_client):
    registered(client)
    response = post_form(
        client, "/account/reset", {"email": "rae@example.org"}, follow_redirects=False
    )
    unknown = post_form(
        client, "/account/reset", {"email": "nobody@example.org"}, follow_redirects=False
    )
    assert response.headers["location"] == unknown.headers["location"]
    [mail] = outbox_rows("reset")
    assert mail["subject"] == "Reset your password for the Seat portal"
    path = link_in(mail, "/account/reset/")
    token = run(AccountToken.select().where(AccountToken.purpose == "reset").first())
    assert token["expires_at"] - token["created_at"] == timedelta(hours=1)

    new_password = "another long enough password"
    with another_app_client() as other:  # reset links are not bound to a browser
        mismatch = post_form(other, path, {"password": new_password, "confirm": "different"})
        assert mismatch.status_code == 400 and "The two passwords do not match." in mismatch.text
        done = post_form(
            other, path, {"password": new_password, "confirm": new_password}, follow_redirects=False
        )
        assert done.headers["location"] == "/account/profile?reset=1"
        assert "Your new password is set" in other.get(done.headers["location"]).text
    assert client.get(path).status_code == 404
    assert password_sign_in(client).status_code == 400
    assert password_sign_in(client, password=new_password, follow_redirects=False).status_code in (
        302,
        303,
    )
    events = run(
        AuditEvent.select(AuditEvent.action).where(AuditEvent.action == "applicant.password_reset")
    )
    assert len(events) == 1


def test_reset_link_expires_after_an_hour(client):
    registered(client)
    post_form(client, "/account/reset", {"email": "rae@example.org"})
    path = link_in(outbox_rows("reset")[0], "/account/reset/")
    run(
        AccountToken.update({AccountToken.expires_at: utcnow() - timedelta(seconds=1)}).where(
            AccountToken.purpose == "reset"
        )
    )
    response = post_form(
        client, path, {"password": "x" * 20, "confirm": "x" * 20}, token_from="/account/reset"
    )
    assert response.status_code == 404
    assert "This password reset link is not valid" in response.text


# ---- Sign out, guards -------------------------------------------------------------


def test_sign_out_ends_the_session(client):
    registered(client)
    password_sign_in(client)
    assert client.get("/account/profile").status_code == 200
    response = post_form(
        client, "/account/sign-out", {}, token_from="/account/profile", follow_redirects=False
    )
    assert response.headers["location"] == "/account/sign-in?signed_out=1"
    assert "You are signed out." in client.get(response.headers["location"]).text
    page = client.get("/account/profile")
    assert page.status_code == 401
    assert 'href="/account/sign-in?next=/account/profile"' in page.text


def test_applicant_gets_403_on_admin_pages(client):
    registered(client)
    password_sign_in(client)
    assert client.get("/admin").status_code == 403
    assert client.get("/admin/people").status_code == 403


def test_admin_gets_403_on_applicant_profile(admin_client):
    page = admin_client.get("/account/profile")
    assert page.status_code == 403
    assert "Only applicant accounts can use this page." in page.text


def test_account_home_sends_to_sign_in_or_profile(client):
    assert client.get("/account", follow_redirects=False).headers["location"] == "/account/sign-in"
    registered(client)
    password_sign_in(client)
    assert client.get("/account", follow_redirects=False).headers["location"] == "/account/profile"


def test_account_pages_are_not_cached(client):
    assert client.get("/account/sign-in").headers["cache-control"] == "no-store"


# ---- Rate limits ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "token_from"),
    [
        (
            "/account/sign-in",
            {"email": "rae@example.org", "password": "wrong password here"},
            "/account/sign-in",
        ),
        ("/account/register", {"name": "Rae", "email": "rae@example.org"}, "/account/register"),
        ("/account/reset", {"email": "rae@example.org"}, "/account/reset"),
        ("/account/sign-in/link", {"email": "rae@example.org"}, "/account/sign-in"),
    ],
)
def test_requests_are_rate_limited_with_headers_kept(client, path, data, token_from):
    token = form_token(client, token_from)
    statuses = [
        client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False).status_code
        for _ in range(11)
    ]
    assert statuses[:10].count(429) == 0
    assert statuses[-1] == 429
    last = client.post(path, data={**data, "_csrf_token": token})
    assert last.status_code == 429
    assert "Too many attempts" in last.text
    headers = {k.lower() for k in last.headers}
    assert "retry-after" in headers or "ratelimit-reset" in headers


def test_each_limiter_counts_separately(client):
    token = form_token(client, "/account/sign-in")
    for _ in range(11):
        client.post(
            "/account/sign-in", data={"email": "a@b.org", "password": "x", "_csrf_token": token}
        )
    assert (
        client.post(
            "/account/sign-in", data={"email": "a@b.org", "password": "x", "_csrf_token": token}
        ).status_code
        == 429
    )
    assert ask_for_link(client, email="a@b.org", follow_redirects=False).status_code in (302, 303)
    assert register(client, email="a@b.org", follow_redirects=False).status_code in (302, 303)


# ---- Mail content -----------------------------------------------------------------


def test_no_account_mail_contains_a_password(client):
    registered(client)
    ask_for_link(client)
    post_form(client, "/account/reset", {"email": "rae@example.org"})
    register(client)
    mails = outbox_rows()
    assert {m["kind"] for m in mails} == {"verify", "sign_in", "reset", "already_registered"}
    for mail in mails:
        body = mail["body_text"] + mail["body_html"] + mail["subject"]
        assert PASSWORD not in body
        assert mail["headers"] and "Auto-Submitted" in str(mail["headers"])
