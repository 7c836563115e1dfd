"""The outbox delivery actor against a real SMTP server, and the sweep."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from email import message_from_bytes, policy

from portal.domain.outbox import delivery
from portal.domain.outbox.delivery import EXPIRED_REASON, LEASE, MAX_ATTEMPTS
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.timerules import utcnow
from portal.mail.smtp import message_id_for
from portal.tables import OutboxMessage
from tests.conftest import post_form, sign_in
from tests.factories import run, write
from workers.mail import deliver_message, sweep_outbox

NEW_PASSWORD = "a long enough new password"


def row(message_id: int) -> dict:
    return run(OutboxMessage.select().where(OutboxMessage.id == message_id).first())


def only_row() -> dict:
    [found] = run(OutboxMessage.select())
    return found


def admin_app(make_client, **changes):
    client = make_client(**changes)
    assert sign_in(client, "ada@example.org").status_code in (302, 303)
    return client


def invite(client, name="Bo Builder", email="bo@example.org"):
    response = post_form(
        client,
        "/admin/people/invite",
        {"name": name, "email": email},
        token_from="/admin/people",
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text


def add_row(key: str, *, kind: str = "test", expires_at=None, **changes) -> int:
    async def add() -> int:
        message_id = await enqueue_mail(
            Mail(
                kind=kind,
                dedupe_key=key,
                recipient=f"{key}@example.org",
                subject=f"About {key}",
                body_text=f"Body of {key}",
                expires_at=expires_at,
            ),
            utcnow(),
        )
        if changes:
            await OutboxMessage.update(changes).where(OutboxMessage.id == message_id)
        return message_id

    return write(add)


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_invitation_arrives_over_smtp_and_its_link_sets_a_password(
    make_client, admin_id, smtp_server, drain, another_app_client
):
    client = admin_app(make_client, smtp_url=smtp_server.url)
    invite(client)
    drain()

    [mail] = smtp_server.messages
    assert mail["To"] == "bo@example.org"
    assert smtp_server.envelopes == [["bo@example.org"]]
    assert mail["Subject"] == "Ada Admin invited you to be an admin of the Seat portal"
    assert mail["From"] == "Seat portal <no-reply@localhost>"
    assert mail["Auto-Submitted"] == "auto-generated"
    sent = only_row()
    assert mail["Message-ID"] == message_id_for(sent["dedupe_key"])
    assert sent["status"] == "sent" and sent["sent_at"] is not None and sent["attempts"] == 1
    text = text_of(mail)
    assert "Ada Admin has invited you" in text and "(UK time)" in text
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="en-GB">' in html and ">Set your password</a>" in html

    link = re.search(r"http://testserver\.local(/admin/invitations/\S+)", text).group(1)
    with another_app_client() as invitee:
        assert "Set your password" in invitee.get(link).text
        done = post_form(
            invitee,
            link,
            {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            follow_redirects=False,
        )
        assert done.headers["location"] == "/admin"
        assert "Signed in as Bo Builder" in invitee.get("/admin").text
    with another_app_client() as later:
        assert sign_in(later, "bo@example.org", NEW_PASSWORD).status_code in (302, 303)
        assert later.get("/admin").status_code == 200


def test_temporary_failure_is_retried_after_backoff(make_client, admin_id, smtp_server, drain):
    client = admin_app(make_client, smtp_url=smtp_server.url)
    smtp_server.rcpt_reply = "451 4.3.0 Mailbox busy, try again later"
    before = utcnow()
    invite(client)
    drain()

    waiting = only_row()
    assert smtp_server.messages == []
    assert waiting["status"] == "pending" and waiting["attempts"] == 1
    assert "451" in waiting["last_error"] and "try again later" in waiting["last_error"]
    assert waiting["next_attempt_at"] >= before + timedelta(seconds=30)
    assert waiting["failed_at"] >= before  # counted in the queue health panel
    assert "1 message with a failed attempt" in client.get("/admin/outbox").text

    # The server is back, but the backoff has not passed: a re-drive now sends nothing.
    smtp_server.recover()
    deliver_message.send(waiting["id"])
    sweep_outbox.send()
    drain()
    assert smtp_server.messages == [] and row(waiting["id"])["status"] == "pending"

    # Time passes (the row falls due); the next sweep delivers it once.
    run(
        OutboxMessage.update(
            {OutboxMessage.next_attempt_at: utcnow() - timedelta(seconds=1)}
        ).where(OutboxMessage.id == waiting["id"])
    )
    sweep_outbox.send()
    drain()
    assert len(smtp_server.messages) == 1
    done = row(waiting["id"])
    assert done["status"] == "sent" and done["attempts"] == 2 and done["last_error"] == ""


def test_temporary_failure_at_data_is_retried_too(make_client, admin_id, smtp_server, drain):
    admin_app(make_client, smtp_url=smtp_server.url)
    smtp_server.data_reply = "452 4.3.1 Insufficient system storage"
    message_id = add_row("full")
    deliver_message.send(message_id)
    drain()
    waiting = row(message_id)
    assert waiting["status"] == "pending" and "452" in waiting["last_error"]


def test_unreachable_server_is_a_temporary_failure(make_client, admin_id, smtp_server, drain):
    from tests.workers.conftest import free_port

    admin_app(make_client, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    message_id = add_row("nobody-listening")
    deliver_message.send(message_id)
    drain()
    waiting = row(message_id)
    assert waiting["status"] == "pending" and waiting["last_error"]


def test_last_temporary_failure_marks_the_message_failed(make_client, admin_id, smtp_server, drain):
    admin_app(make_client, smtp_url=smtp_server.url)
    smtp_server.rcpt_reply = "451 4.3.0 Try again later"
    message_id = add_row("tired", attempts=MAX_ATTEMPTS - 1)
    deliver_message.send(message_id)
    drain()
    assert row(message_id)["status"] == "failed"


def test_permanent_failure_is_failed_visible_and_retry_delivers(
    make_client, admin_id, smtp_server, drain
):
    client = admin_app(make_client, smtp_url=smtp_server.url)
    smtp_server.rcpt_reply = "550 5.1.1 No such user here"
    invite(client)
    drain()

    failed = only_row()
    assert failed["status"] == "failed" and "550" in failed["last_error"]
    assert failed["failed_at"] is not None
    assert smtp_server.messages == []
    page = client.get("/admin/outbox", params={"status": "failed"}).text
    assert ">Failed</strong>" in page and "550" in page and "No such user here" in page
    detail = client.get(f"/admin/outbox/{failed['id']}").text
    assert "No such user here" in detail and "Try sending again" in detail

    smtp_server.recover()  # say the admin fixed the mailbox on the other side
    response = post_form(
        client,
        f"/admin/outbox/{failed['id']}/retry",
        {},
        token_from=f"/admin/outbox/{failed['id']}",
    )
    assert "queued to be sent again" in response.text
    drain()
    assert len(smtp_server.messages) == 1
    assert row(failed["id"])["status"] == "sent"
    assert ">Sent</strong>" in client.get(f"/admin/outbox/{failed['id']}").text


def test_second_delivery_of_the_same_message_sends_nothing(
    make_client, admin_id, smtp_server, drain
):
    client = admin_app(make_client, smtp_url=smtp_server.url)
    invite(client)
    message_id = only_row()["id"]
    deliver_message.send(message_id)  # a duplicate broker message, next to the one the invite sent
    drain()
    deliver_message.send(message_id)  # and a late one
    drain()
    # And the actor's coroutine called directly (`fn` is dramatiq's sync wrapper of it).
    asyncio.run(deliver_message.fn.__wrapped__(message_id))
    assert len(smtp_server.messages) == 1
    assert row(message_id)["attempts"] == 1


def test_sweep_redrives_stuck_and_due_rows_only(make_client, admin_id, smtp_server, drain):
    admin_app(make_client, smtp_url=smtp_server.url)
    now = utcnow()
    stuck = add_row(
        "stuck", status="sending", claimed_at=now - LEASE - timedelta(minutes=1), attempts=1
    )
    due = add_row("due")
    leased = add_row("leased", status="sending", claimed_at=now - timedelta(seconds=10), attempts=1)
    later = add_row("later", next_attempt_at=now + timedelta(minutes=10))
    sent = add_row("sent", status="sent", sent_at=now)

    sweep_outbox.send()
    drain()

    assert sorted(m["To"] for m in smtp_server.messages) == ["due@example.org", "stuck@example.org"]
    assert row(stuck)["status"] == "sent" and row(stuck)["attempts"] == 2
    assert row(due)["status"] == "sent"
    assert row(leased)["status"] == "sending"
    assert row(later)["status"] == "pending"
    assert row(sent)["attempts"] == 0


def test_broken_row_records_the_error_instead_of_hanging(make_client, admin_id, smtp_server, drain):
    admin_app(make_client, smtp_url=smtp_server.url)
    message_id = add_row("broken")
    run(
        OutboxMessage.update({OutboxMessage.headers: {"X-Bad": "line\nbreak"}}).where(
            OutboxMessage.id == message_id
        )
    )
    deliver_message.send(message_id)
    drain()
    broken = row(message_id)
    assert broken["status"] == "pending" and "ValueError" in broken["last_error"]
    assert smtp_server.messages == []


def test_local_mailbox_mode_writes_an_eml_file(make_client, admin_id, settings, drain):
    client = admin_app(make_client)  # no SMTP URL: the embedded mailbox
    invite(client)
    drain()
    sent = only_row()
    message_id = sent["id"]
    [path] = list(settings.mailbox_dir.glob("*.eml"))
    assert path.name == f"{message_id:06d}-invitation.eml"
    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert mail["To"] == "bo@example.org"
    assert mail["Message-ID"] == message_id_for(sent["dedupe_key"])
    assert "/admin/invitations/" in text_of(mail)
    assert sent["status"] == "sent"
    page = client.get(f"/admin/outbox/{message_id}").text
    assert path.name in page and ">Sent</strong>" in page


def test_message_id_is_stable_per_dedupe_key(settings):
    from portal.mail.smtp import build_email

    row_a = {
        "recipient": "a@example.org",
        "subject": "S",
        "body_text": "T",
        "dedupe_key": "invitation:7",
    }
    first = build_email(row_a, settings)["Message-ID"]
    again = build_email(dict(row_a), settings)["Message-ID"]
    other = build_email({**row_a, "dedupe_key": "invitation:8"}, settings)["Message-ID"]
    assert first == again == message_id_for("invitation:7")
    assert other != first
    assert re.fullmatch(r"<[0-9a-f]{32}@seat-portal>", first)


def test_embedded_worker_delivers_an_invitation_by_itself(make_client, admin_id, settings):
    from workers.broker import broker

    broker.flush_all()
    client = admin_app(make_client, embedded_worker=True)
    invite(client)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not list(settings.mailbox_dir.glob("*.eml")):
        time.sleep(0.05)
    [path] = list(settings.mailbox_dir.glob("*.eml"))
    assert "bo@example.org" in path.read_text()
    for _ in range(100):  # the file lands just before the row is marked sent
        if only_row()["status"] == "sent":
            break
        time.sleep(0.05)
    assert only_row()["status"] == "sent"


def test_claim_is_atomic_for_one_winner(settings):
    message_id = add_row("race")

    async def both() -> list:
        now = utcnow()
        return [
            await delivery.claim_message(message_id, now, max_age=timedelta(hours=24)),
            await delivery.claim_message(message_id, now, max_age=timedelta(hours=24)),
        ]

    first, second = run(both())
    assert first is not None and first["status"] == "sending" and second is None


# ---- Late mail: held past the age limit, discarded past its own expiry -------------

HELD_REASON = "Not sent: it waited more than 24 hours. Send it anyway or discard it."


def test_old_message_is_held_then_released_by_an_admin_and_delivered(
    make_client, admin_id, smtp_server, drain
):
    client = admin_app(make_client, smtp_url=smtp_server.url)
    day_old = utcnow() - timedelta(hours=25)
    old = add_row("old-news", created_at=day_old, next_attempt_at=day_old)

    # The broker message arrives a day late (the worker was down): nothing is sent.
    deliver_message.send(old)
    drain()
    assert smtp_server.messages == []
    assert row(old)["status"] == "pending" and row(old)["attempts"] == 0

    # The sweep holds it, with the reason an admin reads.
    sweep_outbox.send()
    drain()
    held = row(old)
    assert held["status"] == "held" and held["last_error"] == HELD_REASON
    assert smtp_server.messages == []
    page = client.get("/admin/outbox", params={"status": "held"}).text
    assert ">Held</strong>" in page and HELD_REASON in page and "Held: 1" in page
    sweep_outbox.send()  # held stays held
    drain()
    assert row(old)["status"] == "held" and smtp_server.messages == []

    response = post_form(
        client, f"/admin/outbox/{old}/retry", {}, token_from=f"/admin/outbox/{old}"
    )
    assert "queued to be sent now, although it is late" in response.text
    drain()
    [mail] = smtp_server.messages
    assert mail["To"] == "old-news@example.org"
    sent = row(old)
    assert sent["status"] == "sent" and sent["released_at"] is not None
    assert sent["last_error"] == ""
    sweep_outbox.send()  # released once is enough: no second copy
    drain()
    assert len(smtp_server.messages) == 1
    assert ">Sent</strong>" in client.get(f"/admin/outbox/{old}").text


def test_age_limit_comes_from_the_settings(make_client, admin_id, smtp_server, drain):
    admin_app(make_client, smtp_url=smtp_server.url, mail_max_age_hours=1)
    two_hours_ago = utcnow() - timedelta(hours=2)
    late = add_row("two-hours", created_at=two_hours_ago, next_attempt_at=two_hours_ago)
    fresh = add_row("fresh")
    sweep_outbox.send()
    drain()
    assert row(late)["status"] == "held"
    assert "more than 1 hour." in row(late)["last_error"]
    assert [m["To"] for m in smtp_server.messages] == ["fresh@example.org"]
    assert row(fresh)["status"] == "sent"


def test_message_that_ages_while_backing_off_is_held_with_its_last_error(
    make_client, admin_id, smtp_server, drain
):
    admin_app(make_client, smtp_url=smtp_server.url)
    day_old = utcnow() - timedelta(hours=25)
    retrying = add_row(
        "busy",
        created_at=day_old,
        next_attempt_at=utcnow() - timedelta(seconds=1),
        attempts=5,
        last_error="451 4.3.0 Mailbox busy",
    )
    sweep_outbox.send()
    drain()
    held = row(retrying)
    assert held["status"] == "held" and smtp_server.messages == []
    assert held["last_error"] == HELD_REASON + " Before that: 451 4.3.0 Mailbox busy"


def test_stuck_sending_row_past_the_age_limit_is_held_not_resent(
    make_client, admin_id, smtp_server, drain
):
    admin_app(make_client, smtp_url=smtp_server.url)
    day_old = utcnow() - timedelta(hours=25)
    stuck = add_row(
        "stuck-old",
        created_at=day_old,
        status="sending",
        claimed_at=utcnow() - LEASE - timedelta(minutes=1),
        attempts=1,
    )
    sweep_outbox.send()
    drain()
    assert row(stuck)["status"] == "held" and smtp_server.messages == []


def test_expired_reminder_is_discarded_and_never_sent(make_client, admin_id, smtp_server, drain):
    client = admin_app(make_client, smtp_url=smtp_server.url)
    gone = add_row("deadline-gone", kind="reminder", expires_at=utcnow() - timedelta(minutes=1))
    backing_off = add_row(
        "backing-off",
        kind="reminder",
        expires_at=utcnow() - timedelta(seconds=1),
        attempts=2,
        last_error="451 busy",
        next_attempt_at=utcnow() - timedelta(seconds=1),
    )
    in_time = add_row("in-time", kind="reminder", expires_at=utcnow() + timedelta(hours=1))

    deliver_message.send(gone)  # the claim refuses it outright
    drain()
    assert smtp_server.messages == [] and row(gone)["status"] == "pending"

    sweep_outbox.send()
    drain()
    assert [m["To"] for m in smtp_server.messages] == ["in-time@example.org"]
    for message_id in (gone, backing_off):
        discarded = row(message_id)
        assert discarded["status"] == "discarded"
        assert discarded["last_error"] == EXPIRED_REASON
    assert row(in_time)["status"] == "sent"

    detail = client.get(f"/admin/outbox/{gone}").text
    assert ">Discarded</strong>" in detail and EXPIRED_REASON in detail
    assert "Try sending again" not in detail and "Send it anyway" not in detail
    deliver_message.send(gone)  # and a late duplicate still sends nothing
    sweep_outbox.send()
    drain()
    assert len(smtp_server.messages) == 1
