"""Reminders against the database: who gets one and when, never twice, missed ones, the
closed notice, extensions, panel scoring reminders; the opt-out pages; the admin's schedule
form with hostile input."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import pytest

from portal import db
from portal.domain.reminders.optout import unsubscribe_token
from portal.domain.reminders.planner import plan_due_reminders
from portal.mail.compose.reminders import compose_reminder
from portal.tables import (
    Application,
    AuditEvent,
    DeadlineExtension,
    OutboxMessage,
    PanelConflict,
    PanelMember,
    Reminder,
    Round,
    ScoreSheet,
    User,
)
from tests.conftest import form_token, post_form
from tests.factories import (
    PASSWORD,
    RoundSetup,
    add_application,
    add_panel_member,
    make_round,
    make_user,
    now,
    run,
)

HOUR = timedelta(hours=1)


def plan(settings, at: datetime, limit: int = 500) -> list[int]:
    async def go() -> list[int]:
        async with db.write_transaction():
            return await plan_due_reminders(at, compose_reminder(settings), limit=limit)

    return run(go())


def reminders(round_id: int) -> list[dict]:
    return run(
        Reminder.select(
            Reminder.kind,
            Reminder.recipient,
            Reminder.offset_minutes,
            Reminder.outbox,
            Reminder.recipient.email.as_alias("email"),
        )
        .where(Reminder.round == round_id)
        .order_by(Reminder.id)
    )


def mails() -> list[dict]:
    return run(OutboxMessage.select().order_by(OutboxMessage.id))


def keyed(rows: list[dict]) -> set[tuple[str, str, int]]:
    return {(r["kind"], r["email"], r["offset_minutes"]) for r in rows}


async def _set(table, values: dict, where) -> None:
    async with db.write_transaction():
        await table.update(values).where(where)


async def _insert(*rows) -> None:
    async with db.write_transaction():
        for row in rows:
            await type(row).insert(row)


def open_round(**changes) -> RoundSetup:
    """A round open for two more hours (the 3-hour reminder is due), by default."""
    t = now()
    values = dict(closes_at=t + 2 * HOUR, opens_at=t - timedelta(days=20), grace_minutes=10)
    values.update(changes)
    return run(make_round(**values))


def draft(setup: RoundSetup, who: str, status: str = "draft") -> int:
    run(add_application(setup, email=f"{who}@example.org", name=who.title(), status=status))
    return setup.applicants[-1]


# ---- Who gets a draft reminder ------------------------------------------------------------


def test_drafts_get_one_reminder_and_nobody_else_does(settings):
    setup = open_round()
    draft(setup, "ann")
    draft(setup, "bea")
    draft(setup, "cy", status="submitted")
    draft(setup, "di", status="withdrawn")
    opted_out = draft(setup, "ed")
    run(_set(User, {User.reminders_opt_out_at: now()}, User.id == opted_out))

    ids = plan(settings, now())

    assert keyed(reminders(setup.round_id)) == {
        ("draft_due", "ann@example.org", 180),
        ("draft_due", "bea@example.org", 180),
    }
    sent = mails()
    assert sorted(ids) == [m["id"] for m in sent]
    assert {m["recipient"] for m in sent} == {"ann@example.org", "bea@example.org"}
    ann = next(m for m in sent if m["recipient"] == "ann@example.org")
    assert ann["dedupe_key"] == f"reminder:draft_due:{setup.round_id}:{setup.applicants[0]}:180"
    assert ann["round"] == setup.round_id and ann["kind"] == "reminder_draft_due"
    closes_at = run(Round.select(Round.closes_at).where(Round.id == setup.round_id).first())
    assert ann["expires_at"] == closes_at["closes_at"]
    assert "2 hours left" in ann["body_text"] or "1 hour 59 minutes left" in ann["body_text"]
    assert f"/applications/{setup.applications[0]}" in ann["body_text"]
    # Each reminder row points at its mail.
    assert {r["outbox"] for r in reminders(setup.round_id)} == set(ids)


def test_running_the_planner_twice_creates_nothing_new(settings):
    setup = open_round()
    draft(setup, "ann")
    first = plan(settings, now())

    again = plan(settings, now() + timedelta(minutes=1))

    assert len(first) == 1 and again == []
    assert len(reminders(setup.round_id)) == 1 and len(mails()) == 1


def test_two_planners_at_once_create_each_reminder_once(settings):
    setup = open_round()
    for i in range(30):
        draft(setup, f"person{i}")
    compose = compose_reminder(settings)
    t = now()

    async def one() -> list[int]:
        async with db.write_transaction():
            return await plan_due_reminders(t, compose, limit=500)

    async def both():
        return await asyncio.gather(one(), one())

    first, second = run(both())

    assert sorted(first + second) == [m["id"] for m in mails()]
    assert len(first + second) == 30
    assert len(reminders(setup.round_id)) == 30
    assert len({m["dedupe_key"] for m in mails()}) == 30


def test_limit_makes_progress_a_batch_at_a_time(settings):
    setup = open_round()
    for i in range(7):
        draft(setup, f"person{i}")
    t = now()

    batches = [plan(settings, t, limit=3) for _ in range(4)]

    assert [len(b) for b in batches] == [3, 3, 1, 0]
    assert len(reminders(setup.round_id)) == 7


def test_reminders_follow_the_schedule_one_per_offset(settings):
    setup = open_round(closes_at=now() + timedelta(days=8))
    draft(setup, "ann")
    deadline = now() + timedelta(days=8)

    offsets = []
    for before in (timedelta(days=7, hours=1), timedelta(days=6), timedelta(hours=47), HOUR * 2.5):
        plan(settings, deadline - before)
        offsets.append([r["offset_minutes"] for r in reminders(setup.round_id)])

    assert offsets == [[], [168 * 60], [168 * 60, 48 * 60], [168 * 60, 48 * 60, 180]]


def test_scheduler_down_for_days_sends_only_the_latest_due_reminder(settings):
    deadline = now() + 2 * HOUR
    setup = open_round(closes_at=deadline)
    draft(setup, "ann")
    assert plan(settings, deadline - timedelta(days=8)) == []  # the last tick before going down

    plan(settings, deadline - 2 * HOUR)  # back up two hours before the deadline

    assert [r["offset_minutes"] for r in reminders(setup.round_id)] == [180]
    assert len(mails()) == 1


def test_no_reminder_after_the_deadline_or_outside_collecting(settings):
    setup = open_round()
    draft(setup, "ann")
    plan(settings, now() + 3 * HOUR)  # past the deadline and the grace
    assert keyed(reminders(setup.round_id)) == {("draft_closed", "ann@example.org", 0)}

    other = open_round(slug="archived-round")
    draft(other, "bea")
    run(_set(Round, {Round.stage: "archived"}, Round.id == other.round_id))
    plan(settings, now())
    assert reminders(other.round_id) == []


def test_an_empty_schedule_sends_no_due_reminders(settings):
    setup = open_round(reminder_hours="")
    draft(setup, "ann")
    assert plan(settings, now()) == []


def test_an_applicants_extension_moves_their_reminders(settings):
    t = now()
    setup = open_round(closes_at=t + 2 * HOUR)
    draft(setup, "ann")
    extended = draft(setup, "bea")
    own_deadline = t + timedelta(days=3)
    run(
        _insert(
            DeadlineExtension(
                round=setup.round_id,
                applicant=extended,
                previous_closes_at=t + 2 * HOUR,
                closes_at=own_deadline,
                reason="Reasonable adjustment",
            )
        )
    )

    plan(settings, t)

    # Bea's deadline is three days away: her week reminder, not the round's 3-hour one.
    assert keyed(reminders(setup.round_id)) == {
        ("draft_due", "ann@example.org", 180),
        ("draft_due", "bea@example.org", 168 * 60),
    }
    bea = next(m for m in mails() if m["recipient"] == "bea@example.org")
    assert bea["expires_at"] == own_deadline
    assert "2 days 23 hours left" in bea["body_text"] or "3 days left" in bea["body_text"]

    # After the round closes (and the grace), Ann is told; Bea is still within her time.
    after = t + 2 * HOUR + timedelta(minutes=10)
    plan(settings, after)
    assert ("draft_closed", "ann@example.org", 0) in keyed(reminders(setup.round_id))
    assert ("draft_closed", "bea@example.org", 0) not in keyed(reminders(setup.round_id))
    plan(settings, own_deadline - 2 * HOUR)
    assert ("draft_due", "bea@example.org", 180) in keyed(reminders(setup.round_id))


def test_a_reminder_sent_before_an_extension_goes_again_before_the_new_deadline(settings):
    t = now()
    setup = open_round(closes_at=t + 2 * HOUR)
    user_id = draft(setup, "ann")
    plan(settings, t)  # the 3-hour reminder for the original deadline
    new_deadline = t + timedelta(days=7, hours=1)
    run(_extend(setup.round_id, new_deadline, t))

    assert plan(settings, t + timedelta(minutes=5)) == []  # nothing due for the new deadline yet
    again = plan(settings, new_deadline - 2 * HOUR)
    assert plan(settings, new_deadline - 2 * HOUR) == []

    [row] = reminders(setup.round_id)  # still one row per (kind, round, person, offset)
    assert row["offset_minutes"] == 180 and row["outbox"] == again[0]
    sent = [m for m in mails() if m["kind"] == "reminder_draft_due"]
    base = f"reminder:draft_due:{setup.round_id}:{user_id}:180"
    assert [m["dedupe_key"] for m in sent] == [
        base,
        f"{base}:{int((new_deadline - 3 * HOUR).timestamp())}",
    ]
    assert sent[1]["expires_at"] == new_deadline


async def _extend(round_id: int, closes_at: datetime, at: datetime) -> None:
    from portal.domain.audit import Actor
    from portal.domain.rounds.entry import ExtensionInput
    from portal.domain.rounds.times import extend_round

    entry = ExtensionInput(closes_at=closes_at, reason="More time for everyone")
    async with db.write_transaction():
        await extend_round(round_id, entry, Actor.system(), at)


# ---- The closed notice --------------------------------------------------------------------


def test_closed_notice_goes_once_to_unsubmitted_drafts(settings):
    setup = run(make_round(closes_at=now() - HOUR))
    draft(setup, "ann")
    draft(setup, "cy", status="submitted")

    ids = plan(settings, now())
    again = plan(settings, now())

    assert keyed(reminders(setup.round_id)) == {("draft_closed", "ann@example.org", 0)}
    assert len(ids) == 1 and again == []
    mail = mails()[0]
    assert "was not submitted" in mail["subject"]
    assert mail["expires_at"] > now() + timedelta(days=6)


def test_no_closed_notice_for_an_old_round_or_when_turned_off(settings):
    old = run(make_round(closes_at=now() - timedelta(days=8), slug="old-round"))
    draft(old, "ann")
    quiet = run(make_round(closes_at=now() - HOUR, slug="quiet-round"))
    run(_set(Round, {Round.closed_notice: False}, Round.id == quiet.round_id))
    draft(quiet, "bea")

    assert plan(settings, now()) == []


def test_no_closed_notice_during_the_grace_period(settings):
    setup = run(make_round(closes_at=now() - timedelta(minutes=5), slug="in-grace"))
    run(_set(Round, {Round.grace_minutes: 10}, Round.id == setup.round_id))
    draft(setup, "ann")
    assert plan(settings, now()) == []
    assert len(plan(settings, now() + timedelta(minutes=6))) == 1


# ---- Panel scoring reminders --------------------------------------------------------------


def test_scoring_reminder_only_for_members_with_applications_left(settings):
    t = now()
    setup = run(make_round(stage="scoring", scoring_deadline=t + 20 * HOUR))
    first = run(add_application(setup, email="ann@example.org", name="Ann"))
    second = run(add_application(setup, email="bea@example.org", name="Bea"))
    draft(setup, "cy")  # drafts never reach a panel
    _, fresh = run(add_panel_member(setup, email="m1@example.org", name="M One"))
    _, done = run(add_panel_member(setup, email="m2@example.org", name="M Two"))
    _, conflicted = run(add_panel_member(setup, email="m3@example.org", name="M Three"))
    _, half = run(add_panel_member(setup, email="m4@example.org", name="M Four"))
    _, removed = run(add_panel_member(setup, email="m5@example.org", name="M Five"))
    run(_set(PanelMember, {PanelMember.removed_at: t}, PanelMember.id == removed))
    sheets = [
        ScoreSheet(member=done, application=first, submitted_at=t),
        ScoreSheet(member=done, application=second, submitted_at=t),
        ScoreSheet(member=conflicted, application=second, submitted_at=t),
        ScoreSheet(member=half, application=second, submitted_at=None),  # saved, not submitted
    ]
    conflict = PanelConflict(member=conflicted, application=first, kind="personal")
    run(_insert(*sheets, conflict))

    plan(settings, t)

    assert keyed(reminders(setup.round_id)) == {
        ("scoring_due", "m1@example.org", 24 * 60),
        ("scoring_due", "m4@example.org", 24 * 60),
    }
    by_recipient = {m["recipient"]: m for m in mails()}
    assert "score 2 applications" in by_recipient["m1@example.org"]["subject"]
    assert "List-Unsubscribe" not in by_recipient["m1@example.org"]["headers"]
    assert plan(settings, t) == []


def test_no_scoring_reminder_without_a_deadline_or_outside_scoring(settings):
    setup = run(make_round(stage="scoring", slug="no-deadline"))
    run(add_application(setup, email="ann@example.org", name="Ann"))
    run(add_panel_member(setup, email="m1@example.org", name="M One"))
    assert plan(settings, now()) == []
    run(
        _set(
            Round,
            {Round.scoring_deadline: now() + HOUR, Round.stage: "shortlisted"},
            Round.id == setup.round_id,
        )
    )
    assert plan(settings, now()) == []


# ---- Opting out from the link -------------------------------------------------------------


def opt_out_state(user_id: int):
    row = run(User.select(User.reminders_opt_out_at).where(User.id == user_id).first())
    return row["reminders_opt_out_at"]


def test_unsubscribe_link_get_changes_nothing_post_opts_out(settings, client):
    user_id = run(make_user("ann@example.org", "Ann"))
    path = f"/reminders/unsubscribe/{unsubscribe_token(settings.secret_key, user_id)}"

    page = client.get(path)
    assert page.status_code == 200
    assert "Stop deadline reminders?" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert opt_out_state(user_id) is None

    done = client.post(path)  # no CSRF token: the link is the credential
    assert done.status_code == 200
    assert "You will no longer get reminders" in done.text
    assert "outcome" in done.text and "Turn reminders back on" in done.text
    assert opt_out_state(user_id) is not None
    actions = run(AuditEvent.select(AuditEvent.action).where(AuditEvent.subject_id == user_id))
    assert [a["action"] for a in actions] == ["reminders.opted_out"]

    client.post(path)  # a second click records nothing new
    assert len(run(AuditEvent.select().where(AuditEvent.subject_id == user_id))) == 1

    back = client.post(f"{path}/resubscribe")
    assert back.status_code == 200 and "Reminders are on again" in back.text
    assert opt_out_state(user_id) is None


def test_one_click_unsubscribe_from_a_mail_client(settings, client):
    user_id = run(make_user("ann@example.org", "Ann"))
    path = f"/reminders/unsubscribe/{unsubscribe_token(settings.secret_key, user_id)}"

    response = client.post(path, data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert opt_out_state(user_id) is not None


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "1.short",
        "1." + "A" * 43,
        "99999999999." + "A" * 43,
        "x" * 3000,
    ],
)
def test_bad_or_forged_unsubscribe_token_is_404(settings, client, token):
    run(make_user("ann@example.org", "Ann"))
    assert client.get(f"/reminders/unsubscribe/{token}").status_code == 404
    assert client.post(f"/reminders/unsubscribe/{token}").status_code == 404
    assert client.post(f"/reminders/unsubscribe/{token}/resubscribe").status_code == 404


def test_someone_elses_token_cannot_be_made_from_mine(settings, client):
    mine = run(make_user("ann@example.org", "Ann"))
    theirs = run(make_user("bea@example.org", "Bea"))
    signature = unsubscribe_token(settings.secret_key, mine).split(".", 1)[1]
    assert client.post(f"/reminders/unsubscribe/{theirs}.{signature}").status_code == 404
    assert opt_out_state(theirs) is None


def test_token_of_a_deleted_user_is_404(settings, client):
    token = unsubscribe_token(settings.secret_key, 4242)
    assert client.get(f"/reminders/unsubscribe/{token}").status_code == 404


def test_opted_out_applicant_gets_no_reminder_then_again_after_opting_in(settings, client):
    setup = open_round()
    user_id = draft(setup, "ann")
    path = f"/reminders/unsubscribe/{unsubscribe_token(settings.secret_key, user_id)}"
    client.post(path)
    assert plan(settings, now()) == []
    client.post(f"{path}/resubscribe")
    assert len(plan(settings, now())) == 1


def test_profile_shows_the_reminder_preference(settings, client):
    user_id = run(make_user("ann@example.org", "Ann"))
    signed_in = post_form(
        client,
        "/account/sign-in",
        {"email": "ann@example.org", "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed_in.status_code in (302, 303), signed_in.text
    page = client.get("/account/profile")
    assert "Reminders are <strong>on</strong>" in page.text
    token = unsubscribe_token(settings.secret_key, user_id)
    assert f'action="/reminders/unsubscribe/{token}"' in page.text
    client.post(f"/reminders/unsubscribe/{token}")
    assert "Reminders are <strong>off</strong>" in client.get("/account/profile").text


# ---- The admin's schedule form ------------------------------------------------------------


def schedule_of(round_id: int) -> dict:
    return run(
        Round.select(Round.reminder_hours, Round.closed_notice, Round.panel_reminder_hours)
        .where(Round.id == round_id)
        .first()
    )


def test_admin_changes_the_schedule_with_an_audit_event(admin_client):
    setup = run(make_round(closes_at=now() + timedelta(days=3)))
    path = f"/admin/rounds/{setup.round_id}"

    response = post_form(
        admin_client,
        f"{path}/reminders",
        {"reminder_hours": " 3, 72 ,24", "panel_reminder_hours": "48"},
        token_from=path,
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert schedule_of(setup.round_id) == {
        "reminder_hours": "72,24,3",
        "closed_notice": False,
        "panel_reminder_hours": "48",
    }
    events = run(AuditEvent.select().where(AuditEvent.action == "round.reminders_changed"))
    assert len(events) == 1 and events[0]["round"] == setup.round_id
    page = admin_client.get(f"{path}?done=reminders")
    assert "The reminder schedule was saved." in page.text
    assert re.search(r'id="reminder_hours"[^>]*value="72,24,3"', page.text)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reminder_hours", "abc"),
        ("reminder_hours", "-3"),
        ("reminder_hours", "0"),
        ("reminder_hours", ",".join(str(h) for h in range(1, 101))),
        ("reminder_hours", "99999999999999999999999"),
        ("reminder_hours", "8761"),
        ("reminder_hours", "<script>alert(1)</script>"),
        ("panel_reminder_hours", "24;DROP TABLE reminder"),
        ("panel_reminder_hours", "x" * 20_000),
    ],
)
def test_admin_schedule_form_refuses_hostile_input(admin_client, field, value):
    setup = run(make_round(closes_at=now() + timedelta(days=3)))
    path = f"/admin/rounds/{setup.round_id}"
    before = schedule_of(setup.round_id)
    data = {"reminder_hours": "168,48,3", "closed_notice": "1", "panel_reminder_hours": "72,24"}
    data[field] = value

    response = post_form(admin_client, f"{path}/reminders", data, token_from=path)

    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert f'href="#{field}"' in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert schedule_of(setup.round_id) == before


def test_admin_schedule_form_for_a_round_that_does_not_exist_is_404(admin_client):
    setup = run(make_round(closes_at=now() + timedelta(days=3)))
    token = form_token(admin_client, f"/admin/rounds/{setup.round_id}")
    for round_id in (setup.round_id + 1, 0, 2**40):
        response = admin_client.post(
            f"/admin/rounds/{round_id}/reminders",
            data={"reminder_hours": "3", "_csrf_token": token},
        )
        assert response.status_code == 404


def test_non_admins_cannot_change_the_schedule(settings, client):
    setup = run(make_round(closes_at=now() + timedelta(days=3)))
    run(make_user("ann@example.org", "Ann"))
    post_form(client, "/account/sign-in", {"email": "ann@example.org", "password": PASSWORD})
    token = form_token(client, "/account/profile")

    response = client.post(
        f"/admin/rounds/{setup.round_id}/reminders",
        data={"reminder_hours": "1", "_csrf_token": token},
        follow_redirects=False,
    )

    assert response.status_code in (401, 403)
    assert schedule_of(setup.round_id)["reminder_hours"] == "168,48,3"


def test_round_page_counts_reminders_by_kind_and_offset(settings, admin_client):
    setup = open_round()
    draft(setup, "ann")
    draft(setup, "bea")
    plan(settings, now())

    page = admin_client.get(f"/admin/rounds/{setup.round_id}")

    assert page.status_code == 200
    row = re.search(r"<tr>\s*<td>Draft not submitted</td>(.*?)</tr>", page.text, re.S)
    assert row, page.text
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells == ["3 hours before the deadline", "2", "0"]


def test_application_status_changes_stop_reminders(settings):
    setup = open_round()
    draft(setup, "ann")
    run(
        _set(
            Application, {Application.status: "submitted"}, Application.id == setup.applications[0]
        )
    )
    assert plan(settings, now()) == []
