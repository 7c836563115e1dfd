"""Admins: the list, inviting another admin, and accepting an invitation."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from portal import db
from portal.domain.timerules import utcnow
from portal.tables import AuditEvent, Invitation, OutboxMessage, User
from tests.conftest import ADMIN_PASSWORD, post_form, sign_in
from tests.factories import run

NEW_PASSWORD = "a long enough new password"


def invite(client, name="Bo Builder", email="bo@example.org", **kwargs):
    return post_form(
        client,
        "/admin/people/invite",
        {"name": name, "email": email},
        token_from="/admin/people",
        **kwargs,
    )


def outbox_rows() -> list[dict]:
    return run(OutboxMessage.select().order_by(OutboxMessage.id))


def link_in(row: dict) -> str:
    match = re.search(
        r"http://testserver\.local(/admin/invitations/[A-Za-z0-9_\-]+)", row["body_text"]
    )
    assert match, row["body_text"]
    return match.group(1)


def test_people_page_lists_admins_with_password_and_sign_in(admin_client):
    page = admin_client.get("/admin/people")
    assert page.status_code == 200
    assert "Ada Admin" in page.text and "ada@example.org" in page.text
    assert '<th scope="col">Last signed in</th>' in page.text
    row = page.text[page.text.index("Ada Admin") :]
    assert "Set" in row[:400] and "Never" not in row[:400]  # she just signed in


def test_invite_writes_user_invitation_and_mail_then_shows_notice(admin_client):
    response = invite(admin_client, follow_redirects=False)
    assert response.status_code in (302, 303)
    page = admin_client.get(response.headers["location"])
    assert "Invitation sent" in page.text
    assert "Bo Builder (bo@example.org)" in page.text
    assert "Not set yet: invitation link expires at" in page.text

    user = run(User.select().where(User.email == "bo@example.org").first())
    assert user["password_hash"] is None and user["role"] == "admin"
    invitation = run(Invitation.select().where(Invitation.user == user["id"]).first())
    assert invitation["used_at"] is None
    assert invitation["expires_at"] - invitation["created_at"] == timedelta(hours=72)
    [mail] = outbox_rows()
    assert mail["recipient"] == "bo@example.org"
    assert mail["kind"] == "invitation"
    assert mail["status"] == "pending"
    assert mail["dedupe_key"] == f"invitation:{invitation['id']}"
    assert mail["subject"] == "Ada Admin invited you to be an admin of the Seat portal"
    assert "Ada Admin has invited you" in mail["body_text"]
    assert "expires at" in mail["body_text"] and "(UK time)" in mail["body_text"]
    assert ADMIN_PASSWORD not in mail["body_text"] + mail["body_html"]
    # The raw token is only in the mail; the database keeps its hash.
    token = link_in(mail).rsplit("/", 1)[1]
    assert token not in invitation["token_hash"]
    events = run(AuditEvent.select(AuditEvent.action).where(AuditEvent.action == "admin.invited"))
    assert len(events) == 1


def test_invitation_link_sets_password_signs_in_and_works_once(
    client, admin_client, another_app_client
):
    invite(admin_client)
    path = link_in(outbox_rows()[0])
    visitor = another_app_client()
    with visitor:
        form = visitor.get(path)
        assert form.status_code == 200
        assert "Set your password" in form.text and "bo@example.org" in form.text
        done = post_form(
            visitor,
            path,
            {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            follow_redirects=False,
        )
        assert done.status_code in (302, 303) and done.headers["location"] == "/admin"
        assert "Signed in as Bo Builder" in visitor.get("/admin").text
        again = visitor.get(path)
    assert again.status_code == 404
    assert "Ask an admin for a new one" in again.text
    user = run(User.select().where(User.email == "bo@example.org").first())
    assert user["last_sign_in_at"] is not None
    people = admin_client.get("/admin/people").text
    assert "Not set yet" not in people


def test_second_use_of_a_link_is_refused(client, admin_client, another_app_client):
    invite(admin_client)
    path = link_in(outbox_rows()[0])
    with another_app_client() as first:
        token = re.search(r'name="_csrf_token" value="([^"]+)"', first.get(path).text).group(1)
        ok = first.post(
            path,
            data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "_csrf_token": token},
            follow_redirects=False,
        )
        assert ok.status_code in (302, 303)
        # The same form submitted again (a double click, or someone else with the link).
        second = first.post(
            path,
            data={
                "password": "another long password",
                "confirm": "another long password",
                "_csrf_token": token,
            },
        )
    assert second.status_code == 404
    assert "not valid or has already been used" in second.text
    with another_app_client() as other:
        assert sign_in(other, "bo@example.org", "another long password").status_code == 400
        assert sign_in(other, "bo@example.org", NEW_PASSWORD).status_code in (302, 303)


def test_invited_person_can_sign_in_afterwards(client, admin_client, another_app_client):
    invite(admin_client)
    path = link_in(outbox_rows()[0])
    with another_app_client() as visitor:
        post_form(visitor, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        post_form(visitor, "/admin/sign-out", {}, token_from="/admin")
        assert visitor.get("/admin").status_code == 401
        assert sign_in(visitor, "bo@example.org", NEW_PASSWORD).status_code in (302, 303)
        assert visitor.get("/admin").status_code == 200


def test_short_or_mismatched_password_is_refused_and_link_still_works(
    client, admin_client, another_app_client
):
    invite(admin_client)
    path = link_in(outbox_rows()[0])
    with another_app_client() as visitor:
        short = post_form(visitor, path, {"password": "short", "confirm": "short"})
        assert short.status_code == 400
        assert "at least 12 characters" in short.text and "There is a problem" in short.text
        mismatch = post_form(
            visitor, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}
        )
        assert mismatch.status_code == 400
        assert "The two passwords do not match." in mismatch.text
        overlong = post_form(visitor, path, {"password": "x" * 300, "confirm": "x" * 300})
        assert overlong.status_code == 400
        assert "under 256 characters" in overlong.text
        assert visitor.get("/admin").status_code == 401
        ok = post_form(
            visitor,
            path,
            {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            follow_redirects=False,
        )
        assert ok.status_code in (302, 303)


def test_expired_link_gives_clear_404_page(client, admin_client):
    invite(admin_client)
    path = link_in(outbox_rows()[0])
    run(
        Invitation.update({Invitation.expires_at: utcnow() - timedelta(seconds=1)}).where(
            Invitation.id > 0
        )
    )
    page = client.get(path)
    assert page.status_code == 404
    assert "This invitation link cannot be used" in page.text
    assert "has expired" in page.text
    refused = post_form(
        client,
        path,
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        token_from="/admin/sign-in",
    )
    assert refused.status_code == 404
    assert (
        run(User.select(User.password_hash).where(User.email == "bo@example.org").first())[
            "password_hash"
        ]
        is None
    )


def test_unknown_or_hostile_tokens_give_clear_404_page(client):
    for token in ["nope", "x" * 5000, "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "..%2F..%2Fadmin"]:
        page = client.get(f"/admin/invitations/{token}")
        assert page.status_code == 404, token
        assert "<script>alert(1)</script>" not in page.text
        if "cannot be used" not in page.text:
            assert "Page not found" in page.text  # the router refused the path itself
    assert "Ask an admin for a new one" in client.get("/admin/invitations/nope").text


def test_reinvite_without_password_sends_new_link_and_retires_old(client, admin_client):
    invite(admin_client)
    invite(admin_client, name="Bo B. Builder")
    first, second = outbox_rows()
    assert first["dedupe_key"] != second["dedupe_key"]
    assert link_in(first) != link_in(second)
    assert "Hello Bo B. Builder" in second["body_text"]
    assert client.get(link_in(first)).status_code == 404
    assert client.get(link_in(second)).status_code == 200
    assert run(User.count().where(User.email == "bo@example.org")) == 1


def test_inviting_someone_with_a_password_is_refused(admin_client):
    page = invite(admin_client, name="Ada Again", email="ADA@example.org")
    assert page.status_code == 400
    assert "ada@example.org already has an account with a password" in page.text
    assert 'value="Ada Again"' in page.text  # what was typed is kept
    assert outbox_rows() == []
    assert (
        run(User.select(User.name).where(User.email == "ada@example.org").first())["name"]
        == "Ada Admin"
    )


def test_invite_hostile_input_is_refused_or_escaped_and_nothing_lost(admin_client):
    cases = {
        ("", "bo@example.org"): "Enter a name.",
        ("Bo", ""): "Enter an email address like name@example.org.",
        ("Bo", "not-an-email"): "Enter an email address like name@example.org.",
        ("Bo", "a@b.org, c@d.org"): "Enter an email address like name@example.org.",
        ("Bo", "<script>@evil.org"): "Enter an email address like name@example.org.",
        (
            "Bo",
            "bo@example.org\r\nBcc: x@evil.org",
        ): "Enter an email address like name@example.org.",
        ("B" * 201, "bo@example.org"): "Keep the name under 200 characters.",
        ("Bo", "b" * 250 + "@example.org"): "Keep the email address under 254 characters.",
    }
    for (name, email), message in cases.items():
        page = invite(admin_client, name=name, email=email)
        assert page.status_code == 400, (name, email)
        assert message in page.text
    assert outbox_rows() == []
    assert run(User.count()) == 1

    page = invite(
        admin_client,
        name="<script>alert('x')</script>",
        email="eve@example.org",
        follow_redirects=True,
    )
    assert page.status_code == 200
    assert "<script>alert('x')</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    [mail] = outbox_rows()
    assert "<script>" not in mail["body_html"]
    assert "&lt;script&gt;alert(" in mail["body_html"]


def test_invite_without_csrf_token_is_refused(admin_client):
    admin_client.get("/admin/people")
    response = admin_client.post(
        "/admin/people/invite", data={"name": "Bo", "email": "bo@example.org"}
    )
    assert response.status_code == 403
    assert outbox_rows() == []


def test_people_pages_need_an_admin(client):
    assert client.get("/admin/people").status_code == 401
    response = client.post("/admin/people/invite", data={"name": "Bo", "email": "bo@example.org"})
    assert response.status_code in (401, 403)
    assert outbox_rows() == []


def test_oversized_invite_form_gets_413(admin_client):
    response = invite(admin_client, name="B" * 2_000_000)
    assert response.status_code == 413
    assert outbox_rows() == []


def test_invitation_attempts_are_rate_limited(client, admin_client, another_app_client):
    invite(admin_client)
    path = link_in(outbox_rows()[0])
    with another_app_client() as visitor:
        token = re.search(r'name="_csrf_token" value="([^"]+)"', visitor.get(path).text).group(1)
        statuses = [
            visitor.post(
                path, data={"password": "short", "confirm": "short", "_csrf_token": token}
            ).status_code
            for _ in range(11)
        ]
        assert statuses[:10] == [400] * 10
        assert statuses[10] == 429
        # The sign-in form keeps its own allowance.
        assert sign_in(visitor, "ada@example.org").status_code in (302, 303)


def test_invite_dispatches_only_after_commit(admin_client, monkeypatch):
    """The broker gets the id after the commit: a worker reading at once finds the row."""
    seen: list[tuple[int, bool, str | None]] = []

    def record(ids):
        for message_id in ids:
            in_transaction = db.current_engine().current_transaction.get() is not None
            # Another thread, another connection: it sees committed rows only.
            with ThreadPoolExecutor(1) as pool:
                row = pool.submit(
                    run,
                    OutboxMessage.select(OutboxMessage.status)
                    .where(OutboxMessage.id == message_id)
                    .first(),
                ).result()
            seen.append((message_id, in_transaction, row and row["status"]))

    monkeypatch.setattr("workers.dispatch.dispatch", record)
    invite(admin_client)
    assert seen == [(outbox_rows()[0]["id"], False, "pending")]


def test_accepting_an_invitation_rotates_a_planted_session(
    client, admin_client, another_app_client
):
    invite(admin_client)
    path = link_in(outbox_rows()[0])
    with another_app_client() as visitor:
        visitor.get(path)
        visitor.cookies.set("portal_session", "b" * 64, domain="testserver.local")
        post_form(visitor, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert visitor.cookies.get("portal_session", domain="testserver.local") not in (
            None,
            "b" * 64,
        )
        assert visitor.get("/admin").status_code == 200
        visitor.cookies.set("portal_session", "b" * 64, domain="testserver.local")
        assert visitor.get("/admin").status_code == 401
