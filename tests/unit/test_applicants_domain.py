"""Applicant account rules: link lifetimes at their boundaries, single use, browser binding,
mail throttling and profile validation. `now` is passed in; nothing reads the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.domain.accounts.applicants import (
    ProfileChange,
    ensure_adjustments,
    ensure_phone,
    register_applicant,
    update_profile,
)
from portal.domain.accounts.links import (
    MAX_MAILS_PER_HOUR,
    RESET_VALID,
    SIGN_IN_LINK_VALID,
    VERIFY_VALID,
    AccountMessage,
    TokenPurpose,
    WrongBrowser,
    find_account_token,
    request_password_reset,
    request_sign_in_link,
    reset_password,
    use_sign_in_link,
    verify_email,
)
from portal.domain.errors import DomainError, NotFound, ValidationErrors
from portal.domain.outbox.messages import Mail
from portal.tables import AccountToken, OutboxMessage, User
from tests.factories import run, write

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NONCE = "n" * 43
PASSWORD = "a long enough applicant password"

sent: list[AccountMessage] = []


def compose(message: AccountMessage) -> Mail:
    """A plain mail carrying the token, as the real composer's link would."""
    sent.append(message)
    return Mail(
        kind=message.kind,
        dedupe_key=f"account:{message.key}",
        recipient=message.email,
        subject=message.kind,
        body_text=message.token or "",
    )


@pytest.fixture(autouse=True)
def _clear_sent():
    sent.clear()


@pytest.fixture
def applicant(settings) -> int:
    write(lambda: register_applicant("Rae Applicant", "rae@example.org", NOW, compose))
    write(lambda: verify_email(sent[-1].token, PASSWORD, PASSWORD, NOW))
    return run(User.select(User.id).where(User.email == "rae@example.org").first().run())["id"]


def _link(now=NOW, nonce=NONCE) -> str:
    write(lambda: request_sign_in_link("rae@example.org", nonce, now, compose))
    return sent[-1].token


# ---- Lifetimes at the boundary -----------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "valid"),
    [
        (TokenPurpose.verify, VERIFY_VALID),
        (TokenPurpose.sign_in, SIGN_IN_LINK_VALID),
        (TokenPurpose.reset, RESET_VALID),
    ],
)
def test_links_work_until_just_before_expiry_and_not_at_it(settings, purpose, valid):
    write(lambda: register_applicant("Rae", "rae@example.org", NOW, compose))
    if purpose is TokenPurpose.sign_in:
        _link()
    elif purpose is TokenPurpose.reset:
        write(lambda: request_password_reset("rae@example.org", NOW, compose))
    token = sent[-1].token
    assert sent[-1].expires_at == NOW + valid
    run(find_account_token(token, purpose, NOW + valid - timedelta(microseconds=1)))
    with pytest.raises(NotFound):
        run(find_account_token(token, purpose, NOW + valid))


def test_sign_in_link_used_at_14_59_works_and_at_15_00_does_not(applicant):
    early, late = _link(), _link()
    assert (
        write(lambda: use_sign_in_link(early, NONCE, NOW + timedelta(minutes=14, seconds=59)))
        == applicant
    )
    with pytest.raises(NotFound):
        write(lambda: use_sign_in_link(late, NONCE, NOW + timedelta(minutes=15)))


def test_sign_in_link_is_single_use(applicant):
    token = _link()
    write(lambda: use_sign_in_link(token, NONCE, NOW))
    with pytest.raises(NotFound):
        write(lambda: use_sign_in_link(token, NONCE, NOW))


@pytest.mark.parametrize("nonce", [None, "", "m" * 43, "n" * 5000])
def test_sign_in_link_needs_the_browser_nonce(applicant, nonce):
    token = _link()
    with pytest.raises(WrongBrowser):
        write(lambda: use_sign_in_link(token, nonce, NOW))
    # Refusal does not spend it.
    assert write(lambda: use_sign_in_link(token, NONCE, NOW)) == applicant


def test_tokens_are_stored_only_as_hashes(applicant):
    token = _link()
    rows = run(AccountToken.select().run())
    assert all(token not in str(row) and NONCE not in str(row) for row in rows)


# ---- Registration and requests -----------------------------------------------------


def test_register_unknown_and_known_addresses_both_write_one_mail(applicant):
    assert write(lambda: register_applicant("Someone", "RAE@example.org", NOW, compose)) is not None
    assert sent[-1].kind == "already_registered" and sent[-1].token is None
    assert write(lambda: register_applicant("Bo", "bo@example.org", NOW, compose)) is not None
    assert sent[-1].kind == "verify"


def test_requests_for_unknown_or_malformed_addresses_write_nothing(settings):
    for email in ("nobody@example.org", "a@b.org\r\nBcc: x@y.org", "", "x" * 300):
        assert write(lambda e=email: request_sign_in_link(e, NONCE, NOW, compose)) is None
        assert write(lambda e=email: request_password_reset(e, NOW, compose)) is None
    assert run(OutboxMessage.count().run()) == 0


def test_register_refuses_header_injection(settings):
    with pytest.raises(DomainError) as err:
        write(lambda: register_applicant("Rae", "a@b.org\r\nBcc: x@y.org", NOW, compose))
    assert err.value.field == "email"


def test_mails_per_address_are_throttled_per_hour(applicant):
    for _ in range(MAX_MAILS_PER_HOUR):
        assert write(lambda: request_password_reset("rae@example.org", NOW, compose)) is not None
    assert (
        write(
            lambda: request_password_reset("rae@example.org", NOW + timedelta(minutes=59), compose)
        )
        is None
    )
    assert (
        write(lambda: request_password_reset("rae@example.org", NOW + timedelta(hours=1), compose))
        is not None
    )


def test_new_reset_link_retires_the_older_one(applicant):
    write(lambda: request_password_reset("rae@example.org", NOW, compose))
    old = sent[-1].token
    write(lambda: request_password_reset("rae@example.org", NOW, compose))
    with pytest.raises(NotFound):
        run(find_account_token(old, TokenPurpose.reset, NOW))


def test_reset_retires_live_sign_in_links(applicant):
    link = _link()
    write(lambda: request_password_reset("rae@example.org", NOW, compose))
    write(
        lambda: reset_password(
            sent[-1].token, "another long password", "another long password", NOW
        )
    )
    with pytest.raises(NotFound):
        write(lambda: use_sign_in_link(link, NONCE, NOW))


def test_links_of_an_admin_address_are_never_issued(settings):
    from portal.domain.accounts.admins import create_admin

    write(lambda: create_admin("ada@example.org", "Ada", PASSWORD, NOW))
    assert write(lambda: request_sign_in_link("ada@example.org", NONCE, NOW, compose)) is None
    assert write(lambda: request_password_reset("ada@example.org", NOW, compose)) is None


# ---- Profile -----------------------------------------------------------------------


def test_profile_reports_every_problem_at_once_and_changes_nothing(applicant):
    bad = ProfileChange(
        name="", organisation="o" * 201, job_title="\x00", phone="abc", adjustments="a" * 5001
    )
    with pytest.raises(ValidationErrors) as err:
        write(lambda: update_profile(applicant, bad, NOW))
    assert set(err.value.errors) == {"name", "organisation", "job_title", "phone", "adjustments"}
    assert (
        run(User.select(User.name).where(User.id == applicant).first().run())["name"]
        == "Rae Applicant"
    )


def test_profile_returns_only_changed_fields(applicant):
    change = ProfileChange(
        name="Rae Applicant", organisation="  Small   Org ", phone="020 7946 0000"
    )
    assert write(lambda: update_profile(applicant, change, NOW)) == ["organisation", "phone"]
    assert write(lambda: update_profile(applicant, change, NOW)) == []


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("", True),
        ("+44 (0)20 7946-0000", True),
        ("12345", False),
        ("020 7946 0000\r\nX", False),
        ("tel:123456", False),
    ],
)
def test_phone_rule(phone, ok):
    if ok:
        ensure_phone(phone)
    else:
        with pytest.raises(DomainError):
            ensure_phone(phone)


def test_adjustments_keep_line_breaks_but_not_control_characters():
    assert ensure_adjustments(" Large print\r\nand breaks\n") == "Large print\nand breaks"
    with pytest.raises(DomainError):
        ensure_adjustments("bell\x07")


# ---- The mails -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path", "words"),
    [
        ("verify", "/account/verify/TOKEN123", "Thank you for registering"),
        ("sign_in", "/account/link/TOKEN123", "only works in the browser that asked for it"),
        ("reset", "/account/reset/TOKEN123", "your password stays as it is"),
    ],
)
def test_account_mails_carry_link_expiry_and_no_password(kind, path, words):
    from portal.mail.compose.accounts import account_mail
    from portal.settings import Settings

    message = AccountMessage(
        kind=kind,
        user_id=3,
        email="rae@example.org",
        name="Rae",
        key=f"{kind}:9",
        token="TOKEN123",
        expires_at=datetime(2024, 11, 18, 10, 0, tzinfo=UTC),
    )
    mail = account_mail(Settings(base_url="https://seats.example.org"), message)
    assert mail.recipient == "rae@example.org" and mail.dedupe_key == f"account:{kind}:9"
    assert mail.headers == {"Auto-Submitted": "auto-generated"}
    for body in (mail.body_text, mail.body_html):
        assert f"https://seats.example.org{path}" in body
        assert "10am on Monday 18 November 2024 (UK time)" in body
        assert words in body
        assert "password:" not in body.lower()


def test_already_registered_mail_points_to_sign_in_and_reset():
    from portal.mail.compose.accounts import account_mail
    from portal.settings import Settings

    message = AccountMessage(
        kind="already_registered", user_id=3, email="rae@example.org", name="Rae", key="k"
    )
    mail = account_mail(Settings(base_url="https://seats.example.org"), message)
    assert mail.subject == "You already have an account on the Seat portal"
    assert "https://seats.example.org/account/sign-in" in mail.body_text
    assert "https://seats.example.org/account/reset" in mail.body_text
    assert "TOKEN" not in mail.body_text
