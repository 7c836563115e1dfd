"""The outbox page: counts, filters, paging, preview, retry and discard."""

from __future__ import annotations

import json
from datetime import timedelta

from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.timerules import utcnow
from portal.tables import AuditEvent, OutboxMessage
from tests.conftest import post_form
from tests.factories import PASSWORD, make_round, make_user, run, write


def add_mail(
    n: int = 1, *, kind: str = "invitation", status: str = "pending", minutes_ago: int = 0, **fields
) -> list[int]:
    async def add() -> list[int]:
        ids = []
        for i in range(n):
            key = f"{kind}:{status}:{minutes_ago}:{i}:{fields.get('subject', '')}"
            mail = Mail(
                kind=kind,
                dedupe_key=key,
                recipient=fields.get("recipient", f"person{i}@example.org"),
                subject=fields.get("subject", f"Subject {i}"),
                body_text=fields.get("body_text", f"Hello number {i}"),
                body_html=fields.get("body_html", f"<p>Hello number {i}</p>"),
                round_id=fields.get("round_id"),
                expires_at=fields.get("expires_at"),
            )
            message_id = await enqueue_mail(mail, utcnow() - timedelta(minutes=minutes_ago + i))
            changes = {OutboxMessage.status: status}
            if "last_error" in fields:
                changes[OutboxMessage.last_error] = fields["last_error"]
            if status != "pending":
                changes[OutboxMessage.attempts] = fields.get("attempts", 1)
            if status == "sent":
                changes[OutboxMessage.sent_at] = utcnow()
            for name in ("failed_at", "next_attempt_at", "released_at"):
                if name in fields:
                    changes[getattr(OutboxMessage, name)] = fields[name]
            await OutboxMessage.update(changes).where(OutboxMessage.id == message_id)
            ids.append(message_id)
        return ids

    return write(add)


def rows_in(page: str) -> int:
    """How many messages the page's table lists."""
    if "<tbody>" not in page:
        return 0
    return page.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")


def status_of(message_id: int) -> str:
    return run(
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
    labels = (
        "All: 3",
        "Pending: 1",
        "Sending: 0",
        "Sent: 1",
        "Failed: 1",
        "Held: 0",
        "Discarded: 0",
    )
    for label in labels:
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
    assert rows_in(first) == 50
    second = admin_client.get("/admin/outbox", params={"page": "2"}).text
    assert "Page 2 of 2" in second and "Newer messages" in second
    assert rows_in(second) == 10


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
    monkeypatch.setattr("workers.dispatch.dispatch", dispatched.extend)
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
    row = run(OutboxMessage.select().where(OutboxMessage.id == message_id).first())
    assert row["status"] == "pending" and row["attempts"] == 0
    assert dispatched == [message_id]
    [event] = run(AuditEvent.select().where(AuditEvent.action == "outbox.retried"))
    assert event["subject_id"] == message_id and event["actor_label"] == "ada@example.org"
    detail = event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
    assert detail["attempts"] == 8 and detail["last_error"] == "550 no such user"


def test_retry_of_a_sent_message_is_refused_clearly(admin_client, monkeypatch):
    dispatched: list = []
    monkeypatch.setattr("workers.dispatch.dispatch", dispatched.extend)
    [sent_id] = add_mail(status="sent")
    response = post_form(
        admin_client, f"/admin/outbox/{sent_id}/retry", {}, token_from=f"/admin/outbox/{sent_id}"
    )
    assert response.status_code == 409
    assert "Only a failed or held message can be sent again; this one is sent." in response.text
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
    assert run(AuditEvent.count().where(AuditEvent.action == "outbox.discarded")) == 2
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


# ---- Held and expired messages ------------------------------------------------------

HELD_REASON = "Not sent: it waited more than 24 hours. Send it anyway or discard it."


def test_held_message_is_explained_and_an_admin_can_send_it_anyway(admin_client, monkeypatch):
    dispatched: list = []
    monkeypatch.setattr("workers.dispatch.dispatch", dispatched.extend)
    [held_id] = add_mail(
        status="held", minutes_ago=25 * 60, subject="Late news", last_error=HELD_REASON
    )
    listing = admin_client.get("/admin/outbox").text
    assert "Held: 1" in listing and ">Held</strong>" in listing
    assert f"Why: {HELD_REASON}" in listing
    assert "1 message</a> too old to send without an admin's decision" in listing
    detail = admin_client.get(f"/admin/outbox/{held_id}").text
    assert "Held: this message was not sent" in detail and "more than 24 hours" in detail
    assert "Send it anyway" in detail and "Discard: never send this message" in detail

    response = post_form(
        admin_client, f"/admin/outbox/{held_id}/retry", {}, token_from=f"/admin/outbox/{held_id}"
    )
    assert response.status_code == 200
    assert "The message is queued to be sent now, although it is late." in response.text
    assert "Released by an admin" in response.text and ">Pending</strong>" in response.text
    row = run(OutboxMessage.select().where(OutboxMessage.id == held_id).first())
    assert row["status"] == "pending" and row["released_at"] is not None
    assert row["next_attempt_at"] <= utcnow()
    assert dispatched == [held_id]
    [event] = run(AuditEvent.select().where(AuditEvent.action == "outbox.released"))
    detail = event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
    assert detail["previous_status"] == "held" and event["subject_id"] == held_id


def test_held_message_can_be_discarded(admin_client):
    [held_id] = add_mail(status="held", minutes_ago=25 * 60, last_error=HELD_REASON)
    response = post_form(
        admin_client, f"/admin/outbox/{held_id}/discard", {}, token_from=f"/admin/outbox/{held_id}"
    )
    assert response.status_code == 200 and "will not be sent" in response.text
    assert status_of(held_id) == "discarded"
    # Discarded is final: it cannot be sent again or discarded twice.
    again = post_form(
        admin_client, f"/admin/outbox/{held_id}/retry", {}, token_from=f"/admin/outbox/{held_id}"
    )
    assert again.status_code == 409 and "this one is discarded" in again.text


def test_an_expired_message_cannot_be_retried(admin_client, monkeypatch):
    dispatched: list = []
    monkeypatch.setattr("workers.dispatch.dispatch", dispatched.extend)
    [failed_id] = add_mail(
        status="failed",
        kind="reminder",
        last_error="451 try later",
        expires_at=utcnow() - timedelta(hours=1),
    )
    detail = admin_client.get(f"/admin/outbox/{failed_id}").text
    assert "This message will not be sent: the deadline it was about has passed." in detail
    assert "Not sent after" in detail
    assert "Try sending again" not in detail and "Discard: never send" in detail
    response = post_form(
        admin_client,
        f"/admin/outbox/{failed_id}/retry",
        {},
        token_from=f"/admin/outbox/{failed_id}",
    )
    assert response.status_code == 409
    assert "the deadline it was about has passed" in response.text
    assert status_of(failed_id) == "failed" and dispatched == []


def test_retry_and_discard_refuse_every_state_they_cannot_change(admin_client):
    for status in ("pending", "sending", "sent", "discarded"):
        [message_id] = add_mail(status=status, subject=f"in {status}")
        response = post_form(
            admin_client,
            f"/admin/outbox/{message_id}/retry",
            {},
            token_from=f"/admin/outbox/{message_id}",
        )
        assert response.status_code == 409, status
        assert f"Only a failed or held message can be sent again; this one is {status}." in (
            response.text
        )
        assert status_of(message_id) == status
    for status in ("sending", "sent", "discarded"):
        [message_id] = add_mail(status=status, subject=f"discard {status}")
        response = post_form(
            admin_client,
            f"/admin/outbox/{message_id}/discard",
            {},
            token_from=f"/admin/outbox/{message_id}",
        )
        assert response.status_code == 409, status
        assert f"this one is {status}" in response.text


def test_retry_or_discard_of_ids_that_do_not_exist_is_404(admin_client):
    for path in ("/admin/outbox/4242/discard", "/admin/outbox/3000000000/retry"):
        response = post_form(admin_client, path, {}, token_from="/admin/outbox")
        assert response.status_code == 404, path
        assert "There is no outbox message with that number." in response.text
    assert admin_client.get("/admin/outbox/3000000000").status_code == 404


# ---- Queue health ------------------------------------------------------------------


def test_queue_health_with_nothing_waiting(admin_client):
    add_mail(status="sent")
    page = admin_client.get("/admin/outbox").text
    assert "Queue health" in page and "None: nothing is waiting to be sent" in page
    assert "0 messages with a failed attempt" in page
    assert "Warning: mail is not going out" not in page


def test_queue_health_shows_oldest_pending_failures_and_held(admin_client):
    [oldest] = add_mail(minutes_ago=3, subject="three minutes old")
    add_mail(minutes_ago=1, subject="one minute old")
    add_mail(status="failed", subject="failed recently", failed_at=utcnow() - timedelta(minutes=10))
    add_mail(status="failed", subject="failed long ago", failed_at=utcnow() - timedelta(hours=2))
    add_mail(
        status="pending",
        subject="backing off",
        failed_at=utcnow() - timedelta(minutes=5),
        next_attempt_at=utcnow() + timedelta(minutes=5),
    )
    add_mail(status="held", subject="held", minutes_ago=2000, last_error=HELD_REASON)
    page = admin_client.get("/admin/outbox").text
    assert f'<a href="/admin/outbox/{oldest}">Number {oldest}</a>, waiting 3 minutes' in page
    assert "2 messages with a failed attempt" in page
    assert '<a href="/admin/outbox?status=held">1 message</a>' in page
    assert "Warning: mail is not going out" not in page


def test_queue_health_warns_when_due_mail_is_not_going_out(admin_client):
    add_mail(minutes_ago=15, subject="stuck in the queue")
    page = admin_client.get("/admin/outbox").text
    assert "Warning: mail is not going out" in page
    assert "has been due for 15 minutes" in page
    assert "worker or the broker is probably down" in page


def test_a_message_waiting_on_purpose_is_not_a_stall(admin_client):
    # Backing off after a 4xx: old, but not due yet. The worker is not to blame.
    add_mail(
        minutes_ago=30,
        failed_at=utcnow() - timedelta(minutes=1),
        next_attempt_at=utcnow() + timedelta(minutes=20),
    )
    page = admin_client.get("/admin/outbox").text
    assert "waiting 30 minutes" in page
    assert "Warning: mail is not going out" not in page


# ---- Filters: round and recipient ----------------------------------------------------


def test_outbox_filters_by_round(admin_client):
    first = run(make_round(title="Racial equity lead", slug="racial-equity-lead")).round_id
    second = run(make_round(title="Youth justice seat", slug="youth-justice-seat")).round_id
    run(make_round(title="Seat without mail", slug="seat-without-mail"))
    add_mail(subject="About the first", round_id=first)
    add_mail(subject="About the second", round_id=second, recipient="x@example.org")
    add_mail(subject="About no round", recipient="y@example.org")
    page = admin_client.get("/admin/outbox").text
    assert f'<option value="{first}">Round {first}: Racial equity lead</option>' in page
    assert f"Round {second}: Youth justice seat" in page
    assert "Seat without mail" not in page
    only = admin_client.get("/admin/outbox", params={"round": str(first)}).text
    assert "About the first" in only and "About the second" not in only
    assert "About no round" not in only and "Matching messages: 1" in only
    assert f'<option value="{first}" selected>' in only
    combined = admin_client.get(
        "/admin/outbox", params={"round": str(first), "status": "pending", "page": "1"}
    ).text
    assert "About the first" in combined


def test_outbox_round_filter_refuses_nonsense_politely(admin_client):
    add_mail(subject="Only message")
    for value in ("abc", "-1", "0", "1.5", "99999999999999999999", "１"):
        page = admin_client.get("/admin/outbox", params={"round": value})
        assert page.status_code == 200, value
        assert "There is no such round; showing messages of every round." in page.text, value
        assert "Only message" in page.text
    page = admin_client.get("/admin/outbox", params={"round": "4242"})
    assert page.status_code == 200 and "No messages match these filters" in page.text
    assert "Round 4242 (no mail)" in page.text


def test_outbox_filters_by_recipient_exactly_or_by_part(admin_client):
    add_mail(subject="To Bo", recipient="bo@example.org")
    add_mail(subject="To Jimbo", recipient="jimbo@example.org")
    add_mail(subject="To underscore", recipient="a_b@example.net")
    add_mail(subject="To lookalike", recipient="axb@example.net")
    exact = admin_client.get("/admin/outbox", params={"recipient": " BO@Example.org "}).text
    assert "To Bo" in exact and "To Jimbo" not in exact and "Matching messages: 1" in exact
    assert 'value="bo@example.org"' in exact
    part = admin_client.get("/admin/outbox", params={"recipient": "bo@"}).text
    assert "To Bo" in part and "To Jimbo" in part and "To underscore" not in part
    domain = admin_client.get("/admin/outbox", params={"recipient": "example.net"}).text
    assert "Matching messages: 2" in domain
    literal = admin_client.get("/admin/outbox", params={"recipient": "a_b"}).text
    assert "To underscore" in literal and "To lookalike" not in literal
    for wildcard in ("%", "\\", "a%b"):
        page = admin_client.get("/admin/outbox", params={"recipient": wildcard})
        assert page.status_code == 200 and "No messages match these filters" in page.text
    underscore = admin_client.get("/admin/outbox", params={"recipient": "_"}).text
    assert "To underscore" in underscore and "Matching messages: 1" in underscore
    # Filters survive paging: the links carry them.
    add_mail(55, subject="", recipient="many@example.org", kind="bulk")
    first = admin_client.get("/admin/outbox", params={"recipient": "many@", "kind": "bulk"}).text
    assert "Page 1 of 2" in first
    assert 'href="/admin/outbox?kind=bulk&amp;recipient=many%40&amp;page=2"' in first


def test_outbox_hostile_recipient_and_kind_are_harmless(admin_client):
    add_mail(subject="Only message")
    for name in ("recipient", "kind"):
        page = admin_client.get("/admin/outbox", params={name: "a" * 10_000})
        assert page.status_code == 200, name
        assert "Only message" in page.text
        assert "a" * 300 not in page.text
    assert (
        "at most 254 characters"
        in admin_client.get("/admin/outbox", params={"recipient": "a" * 10_000}).text
    )
    page = admin_client.get("/admin/outbox", params={"recipient": '"><script>alert(1)</script>'})
    assert page.status_code == 200 and "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    page = admin_client.get("/admin/outbox", params={"recipient": "bo\x00@example.org"})
    assert page.status_code == 200 and "showing every recipient" in page.text
    for value in ("-1", "99999999999999999999", "１", ""):
        page = admin_client.get("/admin/outbox", params={"page": value, "status": "held"})
        assert page.status_code == 200, value
    page = admin_client.get("/admin/outbox?round=1&round=2&recipient=a&recipient=b")
    assert page.status_code in (200, 400)


def test_applicant_is_refused_the_outbox(client, admin_id):
    [failed_id] = add_mail(status="failed")
    run(make_user("rae@example.org", "Rae Applicant"))
    signed = post_form(
        client,
        "/account/sign-in",
        {"email": "rae@example.org", "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed.status_code in (302, 303)
    assert client.get("/admin/outbox").status_code == 403
    assert client.get(f"/admin/outbox/{failed_id}").status_code == 403
    response = post_form(
        client, f"/admin/outbox/{failed_id}/retry", {}, token_from="/account/profile"
    )
    assert response.status_code == 403
    response = post_form(
        client, f"/admin/outbox/{failed_id}/discard", {}, token_from="/account/profile"
    )
    assert response.status_code == 403
    assert status_of(failed_id) == "failed"
