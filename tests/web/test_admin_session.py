"""Admin sign-in: hashed passwords, session rotation, guards, rate limits."""

from tests.conftest import ADMIN_PASSWORD, form_token, post_form, sign_in


def test_sign_in_with_right_password_opens_dashboard(client, admin_id):
    response = sign_in(client, "ada@example.org")
    assert response.status_code in (302, 303)
    page = client.get("/admin")
    assert page.status_code == 200
    assert "Signed in as Ada Admin" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_sign_in_with_wrong_password_shows_error_and_no_session(client, admin_id):
    response = sign_in(client, "ada@example.org", "wrong password here")
    assert response.status_code == 400
    assert "The email address or password is not right." in response.text
    assert client.get("/admin").status_code == 401


def test_unknown_email_gets_the_same_message(client):
    response = sign_in(client, "nobody@example.org")
    assert "The email address or password is not right." in response.text


def test_session_id_is_rotated_at_sign_in(client, admin_id):
    # An attacker plants a session id before the victim signs in.
    form_token(client)
    client.cookies.set("portal_session", "a" * 64, domain="testserver.local")
    sign_in(client, "ada@example.org")
    assert client.cookies.get("portal_session", domain="testserver.local") not in (None, "a" * 64)
    assert client.get("/admin").status_code == 200
    # The planted id opens nothing.
    client.cookies.set("portal_session", "a" * 64, domain="testserver.local")
    assert client.get("/admin").status_code == 401


def test_anonymous_visitors_get_no_session_cookie(client):
    response = client.get("/")
    assert "portal_session" not in response.headers.get("set-cookie", "")


def test_sign_out_ends_the_session(admin_client):
    response = post_form(
        admin_client, "/admin/sign-out", {}, token_from="/admin", follow_redirects=False
    )
    assert response.status_code in (302, 303)
    assert admin_client.get("/admin").status_code == 401


def test_post_without_csrf_token_is_refused(client, admin_id):
    client.get("/admin/sign-in")
    response = client.post(
        "/admin/sign-in", data={"email": "ada@example.org", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 403
    assert client.get("/admin").status_code == 401


def test_sign_in_attempts_are_rate_limited_with_headers_kept(client, admin_id):
    statuses = [
        sign_in(client, "ada@example.org", "wrong password here").status_code for _ in range(11)
    ]
    assert statuses[-1] == 429
    last = sign_in(client, "ada@example.org", "wrong password here")
    assert last.status_code == 429
    assert "Too many attempts" in last.text
    assert "retry-after" in {k.lower() for k in last.headers} or "ratelimit-reset" in {
        k.lower() for k in last.headers
    }


def test_open_redirect_after_sign_in_is_refused(client, admin_id):
    response = post_form(
        client,
        "/admin/sign-in",
        {"email": "ada@example.org", "password": ADMIN_PASSWORD, "next": "//evil.example/admin"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/admin"
