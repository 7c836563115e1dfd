"""Reminder mails: a draft's deadline is near, a round closed on a draft, scores are due.

Draft reminders carry an opt-out link and RFC 8058 one-click headers, so a mail client
can offer "unsubscribe" and a person can stop them in one step. Panel reminders carry no
opt-out: scoring is the member's agreed task, and the chair needs it done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

from portal.domain.outbox.messages import Mail
from portal.domain.reminders.planner import ReminderNotice
from portal.domain.reminders.schedule import CLOSED_NOTICE_WINDOW, ReminderKind
from portal.domain.timerules import describe_remaining
from portal.mail.links import application_link, link_to, panel_link, unsubscribe_link
from portal.mail.render import templated_mail
from portal.settings import Settings

TEMPLATES = {
    ReminderKind.draft_due: "reminder_draft_due",
    ReminderKind.draft_closed: "reminder_draft_closed",
    ReminderKind.scoring_due: "reminder_scoring_due",
}


def reminder_mail(settings: Settings, notice: ReminderNotice) -> Mail:
    kind = ReminderKind(notice.kind)
    is_draft = kind is not ReminderKind.scoring_due
    opt_out = unsubscribe_link(settings, notice.recipient_id) if is_draft else None
    if kind is ReminderKind.scoring_due:
        link = panel_link(settings, notice.round_id)
    else:
        link = application_link(settings, notice.application_id or 0)
    mail = templated_mail(
        settings,
        TEMPLATES[kind],
        kind=f"reminder_{kind.value}",
        dedupe_key=notice.dedupe_key,
        recipient=notice.email,
        round_id=notice.round_id,
        recipient_name=notice.name,
        seat_title=notice.seat_title,
        deadline=notice.deadline,
        zone_name=notice.zone_name,
        remaining=describe_remaining(notice.deadline, notice.now),
        unscored=notice.unscored,
        link=link,
        unsubscribe_url=opt_out,
        applications_url=link_to(settings, "/applications"),
    )
    headers = dict(mail.headers or {})
    if opt_out:
        headers["List-Unsubscribe"] = f"<{opt_out}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # A reminder about a deadline is worthless once the deadline has passed; a closed
    # notice stops mattering a week on.
    expires_at = notice.deadline
    if kind is ReminderKind.draft_closed:
        expires_at = notice.due_at + CLOSED_NOTICE_WINDOW
    return replace(mail, headers=headers, expires_at=expires_at)


def compose_reminder(settings: Settings) -> Callable[[ReminderNotice], Mail]:
    """The callback `portal.domain.reminders.planner.plan_due_reminders` calls inside its transaction."""
    return partial(reminder_mail, settings)
