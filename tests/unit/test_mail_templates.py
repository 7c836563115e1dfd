"""Every mail template renders: a one-line subject, a plain text body and an accessible HTML body."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from portal.domain.accounts.links import AccountMessage
from portal.domain.applications.extensions import ExtensionGrantedNotice
from portal.domain.applications.submission import Receipt
from portal.domain.outbox.messages import Mail
from portal.domain.outcomes.kinds import OutcomeNotice
from portal.domain.outcomes.pack_mail import PackNotice
from portal.domain.panels.invitations import PanelInvitation
from portal.domain.reminders.planner import ReminderNotice
from portal.domain.rounds.times import RoundExtendedNotice
from portal.mail.compose.accounts import account_mail, invitation_mail
from portal.mail.compose.applications import (
    extension_granted_mail,
    receipt_mail,
    round_extended_mail,
)
from portal.mail.compose.outcomes import outcome_mail
from portal.mail.compose.panels import pack_mail, panel_invitation_mail
from portal.mail.compose.reminders import reminder_mail
from portal.settings import TEMPLATES_DIR, Settings

SETTINGS = Settings(base_url="https://seats.example.org")


def _account_sample(kind: str, name: str) -> Mail:
    linked = kind != "already_registered"
    return account_mail(
        SETTINGS,
        AccountMessage(
            kind=kind,
            user_id=3,
            email="rae@example.org",
            name=name,
            key=f"{kind}:9",
            token="TOKEN123" if linked else None,
            expires_at=datetime(2024, 11, 18, 10, 0, tzinfo=UTC) if linked else None,
        ),
    )


def _reminder_sample(kind: str, name: str) -> Mail:
    deadline = datetime(2024, 11, 18, 10, 0, tzinfo=UTC)
    return reminder_mail(
        SETTINGS,
        ReminderNotice(
            kind=kind,
            round_id=2,
            recipient_id=3,
            email="rae@example.org",
            name=name,
            seat_title=name,
            deadline=deadline,
            zone_name="Europe/London",
            offset_minutes=0 if kind == "draft_closed" else 180,
            due_at=deadline,
            now=datetime(2024, 11, 18, 7, 10, tzinfo=UTC),
            application_id=None if kind == "scoring_due" else 5,
            unscored=4 if kind == "scoring_due" else 0,
        ),
    )


HOSTILE = "O'Brien & <script>alert(1)</script>"


def _outcome_sample(kind: str, name: str) -> Mail:
    return outcome_mail(
        SETTINGS,
        OutcomeNotice(
            application_id=5,
            round_id=2,
            kind=kind,
            name=name,
            email="rae@example.org",
            seat_title="Racial equity lead",
            reference="SP-2024-7K3F9Q",
            feedback="Lived experience: clear and specific.\n\nLeadership: more examples would help.",
        ),
    )


# One sample per mail; a template in templates/email without a sample fails the test below.
SAMPLES: dict[str, Callable[[str], Mail]] = {
    "invitation": lambda name: invitation_mail(
        SETTINGS,
        name=name,
        email="bo@example.org",
        link="https://seats.example.org/admin/invitations/TOKEN123",
        expires_at=datetime(2024, 11, 18, 10, 0, tzinfo=UTC),
        invited_by="Ada Admin",
        invitation_id=7,
    ),
    # Applicant accounts (issue 3): one sample per account mail.
    "verify": lambda name: _account_sample("verify", name),
    "sign_in_link": lambda name: _account_sample("sign_in", name),
    "reset": lambda name: _account_sample("reset", name),
    "already_registered": lambda name: _account_sample("already_registered", name),
    # Deadline extensions (issue 3).
    "round_extended": lambda name: round_extended_mail(
        SETTINGS,
        RoundExtendedNotice(
            extension_id=4,
            round_id=2,
            application_id=5,
            applicant_id=3,
            name=name,
            email="rae@example.org",
            seat_title="Racial equity lead",
            previous_closes_at=datetime(2024, 11, 18, 10, 0, tzinfo=UTC),
            closes_at=datetime(2024, 11, 25, 12, 0, tzinfo=UTC),
            zone_name="Europe/London",
        ),
    ),
    "extension_granted": lambda name: extension_granted_mail(
        SETTINGS,
        ExtensionGrantedNotice(
            extension_id=6,
            round_id=2,
            application_id=5,
            name=name,
            email="rae@example.org",
            seat_title="Racial equity lead",
            round_closes_at=datetime(2024, 11, 18, 10, 0, tzinfo=UTC),
            closes_at=datetime(2024, 11, 20, 17, 0, tzinfo=UTC),
            zone_name="Europe/London",
        ),
    ),
    # Application receipts (issue 3).
    "receipt": lambda name: receipt_mail(
        SETTINGS,
        Receipt(
            application_id=5,
            reference="SP-2024-7K3F9Q",
            version=2,
            received_at=datetime(2024, 11, 18, 9, 58, 30, tzinfo=UTC),
            in_grace=False,
            content_hash="ab" * 32,
            zone_name="Europe/London",
            closes_at=datetime(2024, 11, 18, 10, 0, tzinfo=UTC),
        ),
        {"name": name, "email": "rae@example.org"},
        seat_title=name,
        round_id=2,
    ),
    # Reminders (issue 4).
    "reminder_draft_due": lambda name: _reminder_sample("draft_due", name),
    "reminder_draft_closed": lambda name: _reminder_sample("draft_closed", name),
    "reminder_scoring_due": lambda name: _reminder_sample("scoring_due", name),
    # Shortlist pack and outcome letters (issue 5).
    "shortlist_pack": lambda name: pack_mail(
        SETTINGS,
        PackNotice(
            round_id=2,
            member_id=8,
            name=name,
            email="pat@example.org",
            seat_title="Racial equity lead",
            shortlisted=3,
        ),
    ),
    "outcome_shortlisted": lambda name: _outcome_sample("shortlisted", name),
    "outcome_not_shortlisted": lambda name: _outcome_sample("not_shortlisted", name),
    "outcome_appointed": lambda name: _outcome_sample("appointed", name),
    "outcome_not_appointed": lambda name: _outcome_sample("not_appointed", name),
    # Panel membership (issue 5): the existing-account variant has both links.
    "panel_invitation": lambda name: panel_invitation_mail(
        SETTINGS,
        PanelInvitation(
            member_id=8,
            round_id=2,
            user_id=3,
            email="pat@example.org",
            name=name,
            token="TOKEN123",
            token_hash="ab" * 32,
            expires_at=datetime(2024, 11, 18, 10, 0, tzinfo=UTC),
            invited_by="Ada Admin",
            seat_title=name,
            role="chair",
            existing_account=True,
        ),
    ),
}


class _Links(HTMLParser):
    """Collects each link's href and visible text, and the <html lang>."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.lang: str | None = None
        self.images = 0
        self.scripts = 0
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if tag == "img":
            self.images += 1
        if tag == "script":
            self.scripts += 1
        if tag == "a":
            self._href, self._text = attrs.get("href"), ""

    def handle_data(self, data):
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join(self._text.split())))
            self._href = None


def email_template_names() -> set[str]:
    return {
        p.name.removesuffix(".subject.txt") for p in (TEMPLATES_DIR / "email").glob("*.subject.txt")
    }


def test_every_email_template_has_a_sample_and_all_three_parts():
    assert email_template_names() == set(SAMPLES)
    for name in SAMPLES:
        for suffix in (".subject.txt", ".txt", ".html"):
            assert (TEMPLATES_DIR / "email" / f"{name}{suffix}").is_file()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_email_template_renders_readable_parts(name):
    mail = SAMPLES[name]("Bo Builder")
    assert mail.subject and "\n" not in mail.subject and len(mail.subject) < 120
    assert mail.body_text.strip() and "<" not in mail.body_text and "{{" not in mail.body_text
    parser = _Links()
    parser.feed(mail.body_html)
    assert parser.lang == "en-GB"
    assert parser.images == 0 and parser.scripts == 0
    assert "style=" not in mail.body_html and "{{" not in mail.body_html
    assert parser.links, "the HTML mail has at least one link"
    for href, text in parser.links:
        assert text and text.lower() not in {"click here", "here", "link"}, (href, text)
        assert href.startswith("https://seats.example.org")
    # Every link in the HTML is also written out in the plain text version.
    for href, _ in parser.links:
        assert href in mail.body_text


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_email_template_escapes_html_but_not_text(name):
    mail = SAMPLES[name](HOSTILE)
    assert "<script>" not in mail.body_html
    assert "&lt;script&gt;" in mail.body_html
    assert HOSTILE in mail.body_text  # plain text is not HTML: shown as typed


def test_invitation_mail_says_who_what_and_until_when():
    mail = SAMPLES["invitation"]("Bo Builder")
    assert mail.kind == "invitation" and mail.dedupe_key == "invitation:7"
    assert mail.recipient == "bo@example.org"
    assert mail.subject == "Ada Admin invited you to be an admin of the Seat portal"
    for body in (mail.body_text, mail.body_html):
        assert "Hello Bo Builder" in body
        assert "Ada Admin has invited you" in body
        assert "publish representative seats" in body
        assert "10am on Monday 18 November 2024 (UK time)" in body
        assert "https://seats.example.org/admin/invitations/TOKEN123" in body
        assert not re.search(
            r"password[:=]\s*\S", body, re.IGNORECASE
        )  # no password is ever mailed
    assert ">Set your password</a>" in mail.body_html


def test_round_extended_mail_states_old_and_new_closing_times():
    mail = SAMPLES["round_extended"]("Bo Builder")
    assert mail.kind == "round_extended" and mail.dedupe_key == "round-extended:4:3"
    assert mail.recipient == "rae@example.org" and mail.round_id == 2
    assert mail.subject == (
        "The closing time for Racial equity lead has moved to "
        "12 noon on Monday 25 November 2024 (UK time)"
    )
    for body in (mail.body_text, mail.body_html):
        assert "Hello Bo Builder" in body
        assert "10am on Monday 18 November 2024 (UK time)" in body
        assert "12 noon on Monday 25 November 2024 (UK time)" in body
        assert "still a draft" in body


def test_extension_granted_mail_states_the_applicants_own_deadline():
    mail = SAMPLES["extension_granted"]("Bo Builder")
    assert mail.kind == "extension_granted" and mail.dedupe_key == "extension-granted:6"
    assert mail.subject == (
        "Your deadline for Racial equity lead is now 5pm on Wednesday 20 November 2024 (UK time)"
    )
    for body in (mail.body_text, mail.body_html):
        assert "Hello Bo Builder" in body
        assert "5pm on Wednesday 20 November 2024 (UK time)" in body
        assert "10am on Monday 18 November 2024 (UK time)" in body


def test_receipt_received_before_the_deadline_says_until_when_it_can_change():
    mail = SAMPLES["receipt"]("Bo Builder")
    for body in (mail.body_text, mail.body_html):
        assert "Until the closing time, 10am on Monday 18 November 2024 (UK time), you can" in body


def test_receipt_received_in_the_grace_never_says_it_can_still_change():
    """Issue 10: a receipt after the effective deadline states the closing time has passed."""
    receipt = Receipt(
        application_id=5,
        reference="SP-2024-7K3F9Q",
        version=3,
        received_at=datetime(2024, 11, 18, 10, 4, tzinfo=UTC),
        in_grace=True,
        content_hash="ab" * 32,
        zone_name="Europe/London",
        closes_at=datetime(2024, 11, 18, 10, 0, tzinfo=UTC),
    )
    mail = receipt_mail(
        SETTINGS, receipt, {"name": "Bo", "email": "bo@example.org"}, seat_title="Seat", round_id=2
    )
    for body in (mail.body_text, mail.body_html):
        assert "The closing time, 10am on Monday 18 November 2024 (UK time), has passed" in body
        assert "can no longer be changed" in body
        assert "you can change" not in body.lower() and "until the" not in body.lower()
        assert "grace" not in body.lower()
