"""The reminder schedule as pure rules: which offset is due, missed ones, the closed-notice
window, the admin's schedule text, the opt-out token and what a reminder mail carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.domain.errors import DomainError
from portal.domain.reminders.optout import token_user_id, unsubscribe_token
from portal.domain.reminders.planner import ReminderNotice
from portal.domain.reminders.schedule import (
    closed_notice_due,
    describe_offset,
    due_offset,
    parse_hours,
    validate_hours,
)
from portal.domain.rounds.deadline import effective_deadline
from portal.mail.compose.reminders import reminder_mail
from portal.settings import Settings

DEADLINE = datetime(2024, 11, 18, 10, 0, tzinfo=UTC)
SCHEDULE = (168, 48, 3)
SECRET = "s" * 40


def before(hours: float = 0, minutes: float = 0) -> datetime:
    return DEADLINE - timedelta(hours=hours, minutes=minutes)


def test_due_offset_none_before_the_first_offset():
    assert due_offset(DEADLINE, before(hours=169), SCHEDULE) is None
    assert due_offset(DEADLINE, before(hours=168, minutes=-1), SCHEDULE) == 168


def test_due_offset_at_exactly_the_offset_is_due():
    assert due_offset(DEADLINE, before(hours=168), SCHEDULE) == 168
    assert due_offset(DEADLINE, before(hours=48), SCHEDULE) == 48
    assert due_offset(DEADLINE, before(hours=3), SCHEDULE) == 3


def test_due_offset_just_before_an_offset_is_still_the_earlier_one():
    assert due_offset(DEADLINE, before(hours=48, minutes=1), SCHEDULE) == 168
    assert due_offset(DEADLINE, before(hours=3, minutes=1), SCHEDULE) == 48


def test_scheduler_down_from_eight_days_to_two_hours_gives_only_the_three_hour_one():
    assert due_offset(DEADLINE, before(hours=2), SCHEDULE) == 3


def test_no_reminder_at_or_after_the_deadline():
    assert due_offset(DEADLINE, DEADLINE, SCHEDULE) is None
    assert due_offset(DEADLINE, before(minutes=-1), SCHEDULE) is None
    assert due_offset(DEADLINE, before(minutes=1), SCHEDULE) == 3


def test_an_extension_moves_every_offset_later():
    own = effective_deadline(DEADLINE, DEADLINE + timedelta(days=2))
    # 2 hours before the round closes: the round's 3-hour reminder is due for everyone
    # else, but the applicant with two more days is 50 hours away: the week one.
    assert due_offset(DEADLINE, before(hours=2), SCHEDULE) == 3
    assert due_offset(own, before(hours=2), SCHEDULE) == 168
    assert due_offset(own, own - timedelta(hours=47), SCHEDULE) == 48
    # An "extension" earlier than the round's time never cuts anyone off.
    assert effective_deadline(DEADLINE, DEADLINE - timedelta(days=1)) == DEADLINE


def test_empty_schedule_sends_nothing():
    assert due_offset(DEADLINE, before(hours=1), ()) is None


def test_closed_notice_from_the_end_of_grace_for_one_week():
    assert not closed_notice_due(DEADLINE, 10, DEADLINE + timedelta(minutes=9))
    assert closed_notice_due(DEADLINE, 10, DEADLINE + timedelta(minutes=10))
    assert closed_notice_due(DEADLINE, 0, DEADLINE)
    assert closed_notice_due(DEADLINE, 10, DEADLINE + timedelta(days=7, minutes=9))
    assert not closed_notice_due(DEADLINE, 10, DEADLINE + timedelta(days=7, minutes=10))
    assert not closed_notice_due(DEADLINE, 10, DEADLINE + timedelta(days=300))


def test_parse_hours_is_lenient_about_stored_text():
    assert parse_hours("168,48,3") == (168, 48, 3)
    assert parse_hours(" 3, 48 ,168,48") == (168, 48, 3)
    assert parse_hours("abc,-3,0,99999,24") == (24,)
    assert parse_hours("") == () and parse_hours(None) == ()
    assert len(parse_hours(",".join(str(h) for h in range(1, 50)))) == 8


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "-3",
        "0",
        "3.5",
        "1e3",
        "8761",
        "99999999999999999999",
        ",".join(str(h) for h in range(1, 101)),
        "1,2,3,4,5,6,7,8,9",
        "48,,3",
        "٣",  # an Arabic-Indic digit: isdigit() says yes, int() agrees, we do not
        "x" * 5000,
    ],
)
def test_validate_hours_refuses_hostile_input_naming_the_field(text):
    with pytest.raises(DomainError) as refused:
        validate_hours(text, "reminder_hours")
    assert refused.value.field == "reminder_hours"
    assert len(refused.value.message) < 200


def test_validate_hours_normalises():
    assert validate_hours(" 3,168 , 48 ", "reminder_hours") == "168,48,3"
    assert validate_hours("24,24", "f") == "24"
    assert validate_hours("", "f") == ""
    assert validate_hours("8760", "f") == "8760"


def test_describe_offset():
    assert describe_offset("draft_due", 180) == "3 hours before the deadline"
    assert describe_offset("draft_due", 60) == "1 hour before the deadline"
    assert describe_offset("scoring_due", 1440) == "24 hours before the scoring deadline"
    assert describe_offset("draft_closed", 0) == "after the deadline"


def test_unsubscribe_token_round_trips_and_refuses_forgeries():
    token = unsubscribe_token(SECRET, 42)
    assert token_user_id(SECRET, token) == 42
    assert token_user_id("another secret " * 3, token) is None
    forged = "43." + token.split(".", 1)[1]
    assert token_user_id(SECRET, forged) is None
    for bad in (
        "",
        "42",
        "42.",
        "abc.def",
        token + "x",
        "0." + "A" * 43,
        "9" * 12 + "." + "A" * 43,
    ):
        assert token_user_id(SECRET, bad) is None
    assert token_user_id("", token) is None


def _notice(kind: str, **changes) -> ReminderNotice:
    values = dict(
        kind=kind,
        round_id=2,
        recipient_id=3,
        email="rae@example.org",
        name="Rae",
        seat_title="Racial equity lead",
        deadline=DEADLINE,
        zone_name="Europe/London",
        offset_minutes=180,
        due_at=before(hours=3),
        now=before(hours=2, minutes=50),
        application_id=5,
    )
    values.update(changes)
    return ReminderNotice(**values)


def test_draft_reminder_mail_has_one_click_unsubscribe_and_says_what_is_left():
    settings = Settings(base_url="https://seats.example.org", secret_key=SECRET)
    mail = reminder_mail(settings, _notice("draft_due"))
    link = f"https://seats.example.org/reminders/unsubscribe/{unsubscribe_token(SECRET, 3)}"
    assert mail.dedupe_key == "reminder:draft_due:2:3:180"
    assert mail.headers == {
        "Auto-Submitted": "auto-generated",
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert mail.expires_at == DEADLINE and mail.round_id == 2
    assert (
        mail.subject == "2 hours 50 minutes left to submit your application for Racial equity lead"
    )
    for body in (mail.body_text, mail.body_html):
        assert "10am on Monday 18 November 2024 (UK time)" in body
        assert "2 hours 50 minutes left" in body
        assert link in body
        assert "https://seats.example.org/applications/5" in body


def test_closed_notice_expires_a_week_after_the_grace():
    settings = Settings(base_url="https://seats.example.org", secret_key=SECRET)
    ends = DEADLINE + timedelta(minutes=10)
    mail = reminder_mail(settings, _notice("draft_closed", offset_minutes=0, due_at=ends, now=ends))
    assert mail.expires_at == ends + timedelta(days=7)
    assert "List-Unsubscribe" in mail.headers
    assert "was not submitted" in mail.subject


def test_scoring_reminder_has_no_opt_out():
    settings = Settings(base_url="https://seats.example.org", secret_key=SECRET)
    mail = reminder_mail(
        settings, _notice("scoring_due", application_id=None, unscored=1, offset_minutes=1440)
    )
    assert "List-Unsubscribe" not in mail.headers
    assert mail.subject == "2 hours 50 minutes left to score 1 application for Racial equity lead"
    assert "/reminders/unsubscribe/" not in mail.body_text
    assert "https://seats.example.org/panel/rounds/2" in mail.body_text
