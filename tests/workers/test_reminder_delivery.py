"""Reminders end to end: the planner actor (as the scheduler enqueues it) writes the mails,
the delivery actor sends them to a real SMTP server, with one-click unsubscribe headers,
and the opt-out link in the mail works."""

from __future__ import annotations

import re
from datetime import timedelta

from portal.tables import Reminder, User
from tests.factories import add_application, make_round, now, run
from workers.reminders import plan_reminders
from workers.scheduler import _enqueue_reminders, build_scheduler


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_draft_reminder_arrives_with_a_working_one_click_unsubscribe(
    make_client, smtp_server, drain
):
    client = make_client(smtp_url=smtp_server.url)
    setup = run(make_round(closes_at=now() + timedelta(hours=2), grace_minutes=10))
    run(add_application(setup, email="ann@example.org", name="Ann", status="draft"))
    run(add_application(setup, email="cy@example.org", name="Cy", status="submitted"))

    plan_reminders.send()
    drain()

    assert [m["To"] for m in smtp_server.messages] == ["ann@example.org"]
    mail = smtp_server.messages[0]
    assert mail["Subject"].endswith("to submit your application for Racial equity lead")
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = re.fullmatch(
        r"<http://testserver\.local(/reminders/unsubscribe/[^>]+)>", mail["List-Unsubscribe"]
    )
    assert match, mail["List-Unsubscribe"]
    # On the wire as a plain <URL> (not RFC 2047 encoded words a mail client cannot use).
    assert b"\nList-Unsubscribe: <http://testserver.local/reminders/unsubscribe/" in (
        smtp_server.raw[0].replace(b"\r\n", b"\n")
    )
    path = match.group(1)
    assert path in text_of(mail) and path in html_of(mail)

    # A mail client's one-click POST: no session, no CSRF token.
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    user = run(
        User.select(User.reminders_opt_out_at).where(User.email == "ann@example.org").first()
    )
    assert user["reminders_opt_out_at"] is not None

    # A second tick (or a duplicated broker message) sends nothing again.
    plan_reminders.send()
    plan_reminders.send()
    drain()
    assert len(smtp_server.messages) == 1
    assert len(run(Reminder.select())) == 1


def test_scheduler_enqueues_the_planner_on_its_own_interval(
    settings, smtp_server, make_client, drain
):
    make_client(smtp_url=smtp_server.url)
    scheduler = build_scheduler(settings)
    job = scheduler.get_job("reminder-plan")
    assert job is not None
    assert job.trigger.interval == timedelta(seconds=settings.reminder_seconds)

    setup = run(make_round(closes_at=now() + timedelta(hours=2)))
    run(add_application(setup, email="ann@example.org", name="Ann", status="draft"))
    _enqueue_reminders()  # what the job does on each tick
    drain()
    assert [m["To"] for m in smtp_server.messages] == ["ann@example.org"]
