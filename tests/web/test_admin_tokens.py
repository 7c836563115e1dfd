"""The admin page for API tokens: created and shown once, listed without the secret, revoked."""

from __future__ import annotations

import re

from portal.tables import ApiToken, AuditEvent
from tests.conftest import ADMIN_PASSWORD, post_form, sign_in
from tests.factories import make_admin, run


def create_token(client, name: str = "Report script"):
    return post_form(client, "/admin/tokens", {"name": name})


def raw_token(page_text: str) -> str:
    match = re.search(r'value="(sp_[^"]+)"', page_text)
    assert match, "no token on the page"
    return match.group(1)


def api_create_seat(client, raw: str, title: str = "Via the API"):
    return client.post(
        "/api/v1/seats", json={"title": title}, headers={"Authorization": f"Bearer {raw}"}
    )


def test_token_page_needs_a_signed_in_admin(client):
    assert client.get("/admin/tokens").status_code == 401


def test_new_token_is_shown_once_and_works(admin_client):
    created = create_token(admin_client)

    assert created.status_code == 200
    assert "Copy this token now" in created.text and "only time it is shown" in created.text
    assert created.headers["cache-control"] == "no-store"
    raw = raw_token(created.text)
    listing = admin_client.get("/admin/tokens")
    assert raw not in listing.text
    assert "Report script" in listing.text and f"{raw[:10]}…" in listing.text
    assert "Never" in listing.text  # not used yet
    assert api_create_seat(admin_client, raw).status_code == 201
    assert "Never" not in admin_client.get("/admin/tokens").text


def test_only_a_hash_of_the_token_is_stored(admin_client):
    raw = raw_token(create_token(admin_client).text)

    row = run(ApiToken.select().first())

    assert raw not in str(row.values())


def test_revoked_token_is_refused_by_the_api(admin_client):
    raw = raw_token(create_token(admin_client).text)
    token_id = run(ApiToken.select(ApiToken.id).first())["id"]

    asked = admin_client.get(f"/admin/tokens/{token_id}/revoke")
    assert asked.status_code == 200 and "This cannot be undone" in asked.text
    unconfirmed = post_form(
        admin_client, f"/admin/tokens/{token_id}/revoke", {}, token_from="/admin/tokens"
    )
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.text
    assert api_create_seat(admin_client, raw).status_code == 201  # still works

    response = post_form(
        admin_client,
        f"/admin/tokens/{token_id}/revoke",
        {"confirm": "1"},
        token_from="/admin/tokens",
    )

    assert response.status_code == 200  # after the redirect
    assert "The token was revoked" in response.text and "Revoked" in response.text
    assert api_create_seat(admin_client, raw).status_code == 401
    assert run(AuditEvent.exists().where(AuditEvent.action == "api_token.revoked"))


def test_another_admin_cannot_revoke_someone_elses_token(admin_client, make_client):
    raw = raw_token(create_token(admin_client).text)
    token_id = run(ApiToken.select(ApiToken.id).first())["id"]
    run(make_admin("grace@example.org", "Grace Admin", ADMIN_PASSWORD))
    other = make_client()
    sign_in(other, "grace@example.org")

    response = post_form(
        other, f"/admin/tokens/{token_id}/revoke", {"confirm": "1"}, token_from="/admin/tokens"
    )

    assert response.status_code == 404
    assert other.get(f"/admin/tokens/{token_id}/revoke").status_code == 404
    assert "Report script" not in other.get("/admin/tokens").text
    assert api_create_seat(admin_client, raw).status_code == 201


def test_revoking_twice_or_an_unknown_token_is_404(admin_client):
    create_token(admin_client)
    token_id = run(ApiToken.select(ApiToken.id).first())["id"]
    yes = {"confirm": "1"}
    post_form(admin_client, f"/admin/tokens/{token_id}/revoke", yes, token_from="/admin/tokens")

    again = post_form(
        admin_client, f"/admin/tokens/{token_id}/revoke", yes, token_from="/admin/tokens"
    )
    unknown = post_form(
        admin_client, "/admin/tokens/99999999999999999999/revoke", yes, token_from="/admin/tokens"
    )

    assert again.status_code == 404 and unknown.status_code == 404
    assert "There is no such active token" in again.text


def test_revoke_without_csrf_token_is_refused(admin_client):
    raw = raw_token(create_token(admin_client).text)
    token_id = run(ApiToken.select(ApiToken.id).first())["id"]

    response = admin_client.post(f"/admin/tokens/{token_id}/revoke")

    assert response.status_code == 403
    assert api_create_seat(admin_client, raw).status_code == 201


def test_overlong_token_name_is_refused_with_a_message(admin_client):
    response = create_token(admin_client, "x" * 101)

    assert response.status_code == 400
    assert (
        "There is a problem" in response.text
        and "Keep the token name under 100 characters." in response.text
    )
    assert 'value="sp_' not in response.text
    assert run(ApiToken.count()) == 0


def test_token_name_with_html_is_escaped(admin_client):
    created = create_token(admin_client, "<script>alert(1)</script>")

    assert "<script>alert(1)" not in created.text
    listing = admin_client.get("/admin/tokens").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing and "<script>alert(1)" not in listing


def test_blank_name_gets_a_default(admin_client):
    create_token(admin_client, "   ")

    assert run(ApiToken.select(ApiToken.name).first())["name"] == "API token"


def test_token_creation_is_audited(admin_client, admin_id):
    create_token(admin_client)

    event = run(
        AuditEvent.select(AuditEvent.actor).where(AuditEvent.action == "api_token.created").first()
    )

    assert event["actor"] == admin_id
