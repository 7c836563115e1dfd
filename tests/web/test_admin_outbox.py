"""The outbox page: counts, filters, paging, preview, retry and discard."""

from __future__ import annotations

import json
from datetime import timedelta

from portal import db
from portal.domain.outbox import Mail, enqueue_mail
from portal.domain.timerules import utcnow
from portal.tables import AuditEvent, OutboxMessage
from tests.conftest import post_form, run


def fetch(query):
    return run(query.run())


def add_mail(
    n: int = 1, *, kind: str = "invitation", status: str = "pending", minutes_ago: int = 0, **fields
) -> list[int]:
    async def write() -> list[int]:
        ids = []
        async with db.write_transaction():
            for i in range(n):
                key = f"{kind}:{status}:{minutes_ago}:{i}:{fields.get('subject', '')}"
                mail = Mail(
                    kind=kind,
                    dedupe_key=key,
                    recipient=fields.get("recipient", f"person{i}@example.org"),
                    subject=fields.get("subject", f"Subject {i}"),
                    body_text=fields.get("body_text", f"Hello number {i}"),
                    body_html=fields.get("body_html", f"<p>Hello number {i}</p>"),
                )
                message_id = await enqueue_mail(mail, utcnow() - timedelta(minutes=minutes_ago + i))
                changes = {OutboxMessage.status: status}
                if "last_error" in fields:
                    changes[OutboxMessage.last_error] = fields["last_error"]
                if status != "pending":
                    changes[OutboxMessage.attempts] = fields.get("attempts", 1)
                if status == "sent":
                    changes[OutboxMessage.sent_at] = utcnow()
                await OutboxMessage.update(changes).where(OutboxMessage.id == message_id)
                ids.append(message_id)
        return ids

    return run(write())


def status_of(message_id: int) -> str:
    return fetch(
        OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == message_id).first()
    )["status"]


def test_outbox_shows_counts_and_messages_newest_first(admin_client):
    add_mail(kind="invitation", status="sent", minutes_ago=30, subject="Older one")
    add_mail(
        kind="invitation",
        status="failed",
        minutes_ago=5,
        subject="Newer one",
        last_error="550 5.1.1 No such user",
    )
    add_mail(kind="reminder", status="pending", minutes_ago=10, subject="Middle one")
    page = admin_client.get("/admin/outbox")
    assert page.status_code == 200
    text = page.text
    for label in ("All: 3", "Pending: 1", "Sending: 0", "Sent: 1", "Failed: 1", "Discarded: 0"):
        assert label in text
    assert text.index("Newer one") < text.index("Middle one") < text.index("Older one")
    assert "Last error: 550 5.1.1 No such user" in text
    assert ">Failed</strong>" in text and ">Sent</strong>" in text and ">Pending</strong>" in text
    assert "To person0@example.org" in text
    assert page.headers["cache-control"] == "no-store"


def test_outbox_filters_by_status_and_kind(admin_client):
    add_mail(kind="invitation", status="sent", subject="Sent invite")
    add_mail(kind="invitation", status="failed", subject="Failed invite")
    add_mail(kind="reminder", status="failed", subject="Failed reminder")
    failed = admin_client.get("/admin/outbox", params={"status": "failed"}).text
    assert "Failed invite" in failed and "Failed reminder" in failed and "Sent invite" not in failed
    both = admin_client.get("/admin/outbox", params={"status": "failed", "kind": "reminder"}).text
    assert "Failed reminder" in both and "Failed invite" not in both
    assert "Matching messages: 1" in both
    assert '<option value="reminder" selected>' in both


def test_outbox_hostile_filters_are_safe(admin_client):
    add_mail(subject="Only message")
    page = admin_client.get("/admin/outbox", params={"status": "<script>alert(1)</script>"})
    assert page.status_code == 200
    assert "There is no such status" in page.text and "Only message" in page.text
    assert "<script>alert(1)</script>" not in page.text
    page = admin_client.get("/admin/outbox", params={"kind": "<script>alert(1)</script>"})
    assert page.status_code == 200
    assert "No messages match these filters" in page.text
    assert "<script>alert(1)</script>" not in page.text
    page = admin_client.get("/admin/outbox", params={"kind": "k" * 5000})
    assert page.status_code == 200 and "There is no such kind" in page.text
    for value in ("abc", "-1", "0", "99999999999999999999999", "1e9", "２"):
        page = admin_client.get("/admin/outbox", params={"page": value})
        assert page.status_code == 200, value
    page = admin_client.get("/admin/outbox", params={"page": "99999"})
    assert page.status_code == 200 and "No messages" in page.text
    page = admin_client.get("/admin/outbox?status=sent&status=failed&kind=a&kind=b")
    assert page.status_code in (200, 400)


def test_outbox_pages_through_many_messages(admin_client):
    add_mail(60, subject="")
    first = admin_client.get("/admin/outbox").text
    assert "Page 1 of 2" in first and "Older messages" in first and "Newer messages" not in first
    assert first.count('href="/admin/outbox/') == 50
    second = admin_client.get("/admin/outbox", params={"page": "2"}).text
    assert "Page 2 of 2" in second and "Newer messages" in second
    assert second.count('href="/admin/outbox/') == 10


def test_outbox_says_it_is_the_local_mailbox_in_embedded_mode(admin_client, settings):
    page = admin_client.get("/admin/outbox").text
    assert "This is also the local mailbox" in page
    assert str(settings.mailbox_dir.resolve()) in page
    assert ".eml" in page


def test_outbox_with_smtp_does_not_claim_to_be_a_mailbox(make_client, admin_id):
    from tests.conftest import sign_in

    client = make_client(smtp_url="smtp://127.0.0.1:2525")
    sign_in(client, "ada@example.org")
    page = client.get("/admin/outbox").text
    assert "This is also the local mailbox" not in page
    assert "handed to the SMTP server" in page


def test_preview_shows_headers_text_and_escaped_html(admin_client):
    [message_id] = add_mail(
        subject="Welcome <b>aboard</b>",
        recipient="bo@example.org",
        body_text="Line one\nLine <two>",
        body_html='<p onclick="x()">Hi</p><script>alert(1)</script><img src=x onerror=alert(2)>',
    )
    page = admin_client.get(f"/admin/outbox/{message_id}")
    assert page.status_code == 200
    text = page.text
    assert "<dt>To</dt><dd>bo@example.org</dd>" in text
    assert "Welcome &lt;b&gt;aboard&lt;/b&gt;" in text
    assert '<pre class="mail">Line one\nLine &lt;two&gt;</pre>' in text
    assert "<script>alert(1)</script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<details>" in text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_preview_of_unknown_or_malformed_id_is_404(admin_client):
    for path in (
        "/admin/outbox/999",
        "/admin/outbox/0",
        "/admin/outbox/99999999999999999999999",
        "/admin/outbox/abc",
    ):
        page = admin_client.get(path)
        assert page.status_code == 404, path
    assert (
        "There is no outbox message with that number." in admin_client.get("/admin/outbox/999").text
    )


def test_retry_failed_message_makes_it_pending_and_audits(admin_client, monkeypatch):
    dispatched: list = []
    monkeypatch.setattr("portal.web.admin.outbox.dispatch", dispatched.extend)
    [message_id] = add_mail(status="failed", attempts=8, last_error="550 no such user")
    page = admin_client.get(f"/admin/outbox/{message_id}")
    assert "Try sending again" in page.text
    response = post_form(
        admin_client,
        f"/admin/outbox/{message_id}/retry",
        {},
        token_from=f"/admin/outbox/{message_id}",
    )
    assert response.status_code == 200
    assert "The message is queued to be sent again." in response.text
    row = fetch(OutboxMessage.select().where(OutboxMessage.id == message_id).first())
    assert row["status"] == "pending" and row["attempts"] == 0
    assert dispatched == [message_id]
    [event] = fetch(AuditEvent.select().where(AuditEvent.action == "outbox.retried"))
    assert event["subject_id"] == message_id and event["actor_label"] == "ada@example.org"
    detail = event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
    assert detail["attempts"] == 8 and detail["last_error"] == "550 no such user"


def test_retry_of_a_sent_message_is_refused_clearly(admin_client, monkeypatch):
    dispatched: list = []
    monkeypatch.setattr("portal.web.admin.outbox.dispatch", dispatched.extend)
    [sent_id] = add_mail(status="sent")
    response = post_form(
        admin_client, f"/admin/outbox/{sent_id}/retry", {}, token_from=f"/admin/outbox/{sent_id}"
    )
    assert response.status_code == 409
    assert "Only a failed message can be retried; this one is sent." in response.text
    assert status_of(sent_id) == "sent" and dispatched == []
    response = post_form(admin_client, "/admin/outbox/4242/retry", {}, token_from="/admin/outbox")
    assert response.status_code == 404


def test_discard_pending_or_failed_message(admin_client):
    [pending_id] = add_mail(status="pending")
    [failed_id] = add_mail(status="failed", subject="f")
    for message_id in (pending_id, failed_id):
        response = post_form(
            admin_client,
            f"/admin/outbox/{message_id}/discard",
            {},
            token_from=f"/admin/outbox/{message_id}",
        )
        assert response.status_code == 200
        assert "The message was discarded and will not be sent." in response.text
        assert ">Discarded</strong>" in response.text
        assert status_of(message_id) == "discarded"
    assert fetch(AuditEvent.count().where(AuditEvent.action == "outbox.discarded")) == 2
    assert "Discarded: 2" in admin_client.get("/admin/outbox").text


def test_discard_of_a_sent_message_is_refused(admin_client):
    [sent_id] = add_mail(status="sent")
    assert "Discard" not in admin_client.get(f"/admin/outbox/{sent_id}").text
    response = post_form(
        admin_client, f"/admin/outbox/{sent_id}/discard", {}, token_from=f"/admin/outbox/{sent_id}"
    )
    assert response.status_code == 409
    assert "this one is sent" in response.text
    assert status_of(sent_id) == "sent"


def test_outbox_actions_need_csrf_and_an_admin(client, admin_id):
    [failed_id] = add_mail(status="failed")
    assert client.get("/admin/outbox").status_code == 401
    assert client.get(f"/admin/outbox/{failed_id}").status_code == 401
    client.get("/admin/sign-in")
    assert client.post(f"/admin/outbox/{failed_id}/retry").status_code in (401, 403)
    from tests.conftest import sign_in

    sign_in(client, "ada@example.org")
    assert client.post(f"/admin/outbox/{failed_id}/retry").status_code == 403  # no CSRF token
    assert status_of(failed_id) == "failed"


def test_invitation_link_is_hidden_in_preview_when_mail_really_leaves(make_client, admin_id):
    from tests.conftest import sign_in

    [message_id] = add_mail(
        body_text="Open http://x/admin/invitations/SECRETtoken_123 now", body_html=""
    )
    local = make_client()
    sign_in(local, "ada@example.org")
    assert "SECRETtoken_123" in local.get(f"/admin/outbox/{message_id}").text
    smtp = make_client(smtp_url="smtp://127.0.0.1:2525")
    sign_in(smtp, "ada@example.org")
    page = smtp.get(f"/admin/outbox/{message_id}").text
    assert "SECRETtoken_123" not in page and "/admin/invitations/[link hidden]" in page
