"""Applications against the real test database: start, save, submit, withdraw, ownership,
the deadline on every write, and concurrent submits decided by the database's clock."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from portal import db
from portal.db import database_now
from portal.domain.applications.drafts import (
    save_answers,
    save_document,
    start_application,
    withdraw_application,
)
from portal.domain.applications.records import load_application, missing_parts
from portal.domain.applications.status import ApplicationWithdrawn
from portal.domain.applications.submission import (
    Receipt,
    has_unsubmitted_changes,
    submit_application,
)
from portal.domain.applications.words import MAX_TEXT_CHARS, count_words
from portal.domain.audit import Actor
from portal.domain.errors import DomainError, NotFound, ValidationErrors
from portal.domain.outbox.messages import Mail
from portal.domain.rounds.deadline import DeadlinePassed
from portal.domain.rounds.phase import RoundStage
from portal.domain.rounds.stages import transition_round
from portal.tables import (
    Answer,
    Application,
    AuditEvent,
    DeadlineExtension,
    OutboxMessage,
    Round,
    Seat,
    Submission,
)
from tests.factories import (
    SHORT_FORM,
    RoundSetup,
    in_write_transaction,
    make_round,
    make_user,
    run,
    write,
)

CV = b"%PDF-1.7\n" + b"x" * 100
ADMIN = Actor(None, "an admin")
CV_SHA = hashlib.sha256(CV).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def open_round(settings) -> RoundSetup:
    return run(
        make_round(
            **SHORT_FORM, opens_at=-timedelta(days=1), closes_at=timedelta(days=1), grace_minutes=10
        )
    )


@pytest.fixture
def alice(settings) -> int:
    return run(make_user("alice@example.org", "alice", password=None, verified=False))


@pytest.fixture
def bob(settings) -> int:
    return run(make_user("bob@example.org", "bob", password=None, verified=False))


def _complete(app_id: int, user_id: int, parts: RoundSetup, answer: str = "Because I care") -> None:
    write(
        save_answers,
        app_id,
        user_id,
        {parts.questions[0]: answer},
        {parts.criteria[0]: "Twenty years."},
        now(),
    )
    write(
        save_document,
        app_id,
        user_id,
        kind="cv",
        filename="cv.pdf",
        content_type="application/pdf",
        data=CV,
        sha256=CV_SHA,
        now=now(),
    )


async def _count(table, where) -> int:
    return await table.count().where(where)


# ---- Words -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,words",
    [
        ("", 0),
        ("   ", 0),
        ("one", 1),
        ("co-operate £5,000 today", 3),
        ("tabs\tand\nnew lines\r\nhere", 5),
        ("non\u00a0breaking and\u2003em space", 5),
        ("\ufeffbyte-order mark", 2),
    ],
)
def test_count_words_counts_whitespace_separated_tokens(text, words):
    assert count_words(text) == words


# ---- Starting --------------------------------------------------------------------


def test_start_application_twice_returns_the_same_draft(open_round, alice):
    first = write(start_application, alice, open_round.round_id, now())

    second = write(start_application, alice, open_round.round_id, now())

    assert first == second
    assert run(_count(Application, Application.applicant == alice)) == 1
    assert (
        run(Application.select(Application.status).where(Application.id == first).first())["status"]
        == "draft"
    )


def test_start_application_concurrent_starts_make_one_row(open_round, alice):
    async def go():
        return await asyncio.gather(
            *[
                in_write_transaction(start_application, alice, open_round.round_id, now())
                for _ in range(10)
            ]
        )

    ids = run(go())

    assert len(set(ids)) == 1
    assert run(_count(Application, Application.applicant == alice)) == 1


def test_start_application_on_unpublished_seat_is_not_found(settings, alice):
    parts = run(
        make_round(
            **SHORT_FORM,
            opens_at=-timedelta(days=1),
            closes_at=timedelta(days=1),
            published=False,
            grace_minutes=10,
        )
    )

    with pytest.raises(NotFound):
        write(start_application, alice, parts.round_id, now())


def test_start_application_on_unknown_round_is_not_found(settings, alice):
    for bad in (999_999, 0, -1, 2**40):
        with pytest.raises(NotFound):
            write(start_application, alice, bad, now())


def test_start_application_before_opening_is_refused(settings, alice):
    parts = run(
        make_round(
            **SHORT_FORM, opens_at=timedelta(days=1), closes_at=timedelta(days=2), grace_minutes=10
        )
    )

    with pytest.raises(DomainError, match="not open for applications yet"):
        write(start_application, alice, parts.round_id, now())


def test_start_application_after_closing_states_closing_time(settings, alice):
    parts = run(
        make_round(
            **SHORT_FORM,
            opens_at=-timedelta(days=2),
            closes_at=-timedelta(hours=1),
            grace_minutes=0,
        )
    )

    with pytest.raises(DeadlinePassed, match=r"This round closed at .*\(UK time\)"):
        write(start_application, alice, parts.round_id, now())


def test_start_application_after_closing_with_own_extension_is_allowed(settings, alice, bob):
    parts = run(
        make_round(
            **SHORT_FORM,
            opens_at=-timedelta(days=2),
            closes_at=-timedelta(hours=1),
            grace_minutes=0,
        )
    )
    run(
        DeadlineExtension.insert(
            DeadlineExtension(
                round=parts.round_id,
                applicant=alice,
                previous_closes_at=now() - timedelta(hours=1),
                closes_at=now() + timedelta(days=1),
                reason="Reasonable adjustment",
            )
        )
    )

    app_id = write(start_application, alice, parts.round_id, now())

    assert app_id
    with pytest.raises(DeadlinePassed):
        write(start_application, bob, parts.round_id, now())


# ---- Saving ----------------------------------------------------------------------


def test_save_answers_saves_and_replaces_text(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())

    write(save_answers, app_id, alice, {open_round.questions[0]: "First try"}, {}, now())
    write(
        save_answers,
        app_id,
        alice,
        {open_round.questions[0]: "  Second\r\ntry  "},
        {open_round.criteria[0]: "Yes"},
        now(),
    )

    view = run(load_application(app_id, alice))
    assert view.answers == {open_round.questions[0]: "Second\ntry"}
    assert view.statements == {open_round.criteria[0]: "Yes"}
    assert run(_count(Answer, Answer.application == app_id)) == 1


def test_save_answers_over_word_limit_is_saved_and_marked(open_round, alice):
    """Issue 10: an answer over its limit no longer blocks the save; only submit waits."""
    app_id = write(start_application, alice, open_round.round_id, now())
    question = open_round.questions[0]

    marks = write(
        save_answers,
        app_id,
        alice,
        {question: "one two three four five six"},
        {open_round.criteria[0]: "Within the limit"},
        now(),
    )

    assert marks == {
        f"question_{question}": "Your answer to question 1 has 6 words; the limit is 5."
    }
    view = run(load_application(app_id, alice))
    assert view.answers[question] == "one two three four five six"
    assert view.statements[open_round.criteria[0]] == "Within the limit"
    assert write(save_answers, app_id, alice, {question: "Short now"}, {}, now()) == {}


@pytest.mark.parametrize(
    "hostile,message",
    [
        ("nul\x00byte", "NUL byte"),
        ("a " * (MAX_TEXT_CHARS), "too long"),
        ("x" * 1_000_000, "too long"),
    ],
)
def test_save_answers_refuses_hostile_text_and_keeps_saved_text(
    open_round, alice, hostile, message
):
    app_id = write(start_application, alice, open_round.round_id, now())
    write(save_answers, app_id, alice, {}, {open_round.criteria[0]: "Kept statement"}, now())

    with pytest.raises(ValidationErrors, match=message):
        write(save_answers, app_id, alice, {}, {open_round.criteria[0]: hostile}, now())

    assert (
        run(load_application(app_id, alice)).statements[open_round.criteria[0]] == "Kept statement"
    )


def test_save_answers_keeps_markup_as_text(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())

    write(
        save_answers,
        app_id,
        alice,
        {open_round.questions[0]: "<script>alert(1)</script>"},
        {},
        now(),
    )

    assert (
        run(load_application(app_id, alice)).answers[open_round.questions[0]]
        == "<script>alert(1)</script>"
    )


def test_save_answers_for_another_seats_question_is_refused(open_round, alice, settings):
    other = run(
        make_round(
            **SHORT_FORM, opens_at=-timedelta(days=1), closes_at=timedelta(days=1), grace_minutes=10
        )
    )
    app_id = write(start_application, alice, open_round.round_id, now())

    with pytest.raises(DomainError, match="not part of this application"):
        write(save_answers, app_id, alice, {other.questions[0]: "Sneaky"}, {}, now())


def test_missing_parts_lists_what_is_left_then_nothing(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())

    before = missing_parts(run(load_application(app_id, alice)))
    _complete(app_id, alice, open_round)
    after = missing_parts(run(load_application(app_id, alice)))

    assert before == [
        "Answer question 1.",
        "Write a statement for “Lived experience”.",
        "Upload your CV.",
    ]
    assert after == []


# ---- Ownership -------------------------------------------------------------------


def test_another_applicants_application_is_not_found_everywhere(open_round, alice, bob):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)

    attempts = [
        lambda: run(load_application(app_id, bob)),
        lambda: write(save_answers, app_id, bob, {open_round.questions[0]: "Hijack"}, {}, now()),
        lambda: write(
            save_document,
            app_id,
            bob,
            kind="cv",
            filename="x.pdf",
            content_type="application/pdf",
            data=CV,
            sha256=CV_SHA,
            now=now(),
        ),
        lambda: write(submit_application, app_id, bob),
        lambda: write(withdraw_application, app_id, bob, now()),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound, match="There is no such application."):
            attempt()

    assert run(load_application(app_id, alice)).answers[open_round.questions[0]] == "Because I care"
    assert run(Application.select().where(Application.id == app_id).first())["status"] == "draft"


# ---- Submitting ------------------------------------------------------------------


def test_submit_with_missing_parts_is_refused(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())

    with pytest.raises(DomainError, match="not ready to submit yet: Answer question 1."):
        write(submit_application, app_id, alice)

    assert run(_count(Submission, Submission.application == app_id)) == 0


def test_submit_gives_a_receipt_read_from_the_database_clock(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    before = now() - timedelta(seconds=2)

    receipt = write(submit_application, app_id, alice)

    assert re.fullmatch(r"SP-\d{4}-[2-9A-HJKMNP-Z]{6}", receipt.reference)
    assert receipt.version == 1 and not receipt.in_grace and not receipt.repeated
    assert re.fullmatch(r"[0-9a-f]{64}", receipt.content_hash)
    assert before <= receipt.received_at <= now() + timedelta(seconds=2)
    assert receipt.received_at.tzinfo is not None
    row = run(Application.select().where(Application.id == app_id).first())
    assert (row["status"], row["reference"], row["content_hash"]) == (
        "submitted",
        receipt.reference,
        receipt.content_hash,
    )
    assert run(_count(AuditEvent, AuditEvent.action == "application.submitted")) == 1


def test_submit_twice_unchanged_returns_the_same_receipt(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    first = write(submit_application, app_id, alice)

    second = write(submit_application, app_id, alice)

    assert second.repeated
    assert (second.reference, second.version, second.received_at, second.content_hash) == (
        first.reference,
        first.version,
        first.received_at,
        first.content_hash,
    )
    assert run(_count(Submission, Submission.application == app_id)) == 1


def test_resubmit_after_edit_makes_a_new_version_and_keeps_the_old(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    first = write(submit_application, app_id, alice)
    write(save_answers, app_id, alice, {open_round.questions[0]: "Better answer now"}, {}, now())
    assert has_unsubmitted_changes(run(load_application(app_id, alice)))

    second = write(submit_application, app_id, alice)

    assert second.reference == first.reference
    assert second.version == 2 and second.content_hash != first.content_hash
    versions = run(
        Submission.select(Submission.version, Submission.snapshot)
        .where(Submission.application == app_id)
        .order_by(Submission.version)
    )
    assert [v["version"] for v in versions] == [1, 2]
    assert not has_unsubmitted_changes(run(load_application(app_id, alice)))
    assert "Because I care" in str(versions[0]["snapshot"])


def test_submit_queues_the_receipt_mail_once(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)

    def receipt_mail(receipt: Receipt, applicant) -> Mail:
        return Mail(
            kind="receipt",
            dedupe_key=f"receipt:{receipt.application_id}:{receipt.version}",
            recipient=applicant["email"],
            subject=f"Received: {receipt.reference}",
            body_text=f"Hash {receipt.content_hash}",
        )

    receipt = write(submit_application, app_id, alice, receipt_mail=receipt_mail)
    again = write(submit_application, app_id, alice, receipt_mail=receipt_mail)

    assert len(receipt.outbox_ids) == 1 and again.outbox_ids == []
    mail = run(OutboxMessage.select().where(OutboxMessage.id == receipt.outbox_ids[0]).first())
    assert mail["recipient"] == "alice@example.org"
    assert receipt.reference in mail["subject"] and receipt.content_hash in mail["body_text"]


def test_submit_to_unpublished_seat_is_refused(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    run(Seat.update({Seat.published: False}).where(Seat.id == open_round.seat_id))

    with pytest.raises(DomainError, match="no longer open"):
        write(submit_application, app_id, alice)


# ---- The deadline on every write ------------------------------------------------


def _close_round(parts: RoundSetup, *, ago: timedelta, grace: int) -> None:
    run(
        Round.update({Round.closes_at: now() - ago, Round.grace_minutes: grace}).where(
            Round.id == parts.round_id
        )
    )


def test_submit_inside_grace_is_accepted_and_flagged(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    _close_round(open_round, ago=timedelta(minutes=1), grace=10)

    receipt = write(submit_application, app_id, alice)

    assert receipt.in_grace
    assert (
        run(Application.select(Application.in_grace).where(Application.id == app_id).first())[
            "in_grace"
        ]
        is True
    )


def test_submit_that_arrived_before_the_close_but_waited_for_the_lock_is_on_time(open_round, alice):
    # The request reached the server 2 s before the close, then queued behind other
    # writers (SQLite has one write lock) until after it: it was sent in time.
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    _close_round(open_round, ago=timedelta(seconds=1), grace=0)
    arrived_at = now() - timedelta(seconds=3)

    with pytest.raises(DeadlinePassed):
        write(submit_application, app_id, alice)  # judged by the clock inside: late
    receipt = write(submit_application, app_id, alice, arrived_at=arrived_at)

    assert not receipt.in_grace
    assert abs(receipt.received_at - arrived_at) < timedelta(milliseconds=1)


def test_arrival_time_cannot_move_a_submission_later(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    receipt = write(submit_application, app_id, alice, arrived_at=now() + timedelta(days=30))
    assert receipt.received_at <= now()


def test_submit_after_grace_is_refused_and_the_draft_stays(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    _close_round(open_round, ago=timedelta(minutes=11), grace=10)

    with pytest.raises(DeadlinePassed, match=r"This round closed at .*\(UK time\)"):
        write(submit_application, app_id, alice)

    view = run(load_application(app_id, alice))
    assert view.application["status"] == "draft"
    assert view.answers[open_round.questions[0]] == "Because I care"
    assert run(_count(Submission, Submission.application == app_id)) == 0


def test_every_write_after_the_deadline_is_refused(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    first = write(submit_application, app_id, alice)
    _close_round(open_round, ago=timedelta(hours=1), grace=10)

    for attempt in (
        lambda: write(
            save_answers, app_id, alice, {open_round.questions[0]: "Late edit"}, {}, now()
        ),
        lambda: write(
            save_document,
            app_id,
            alice,
            kind="supporting",
            filename="x.pdf",
            content_type="application/pdf",
            data=CV,
            sha256=CV_SHA,
            now=now(),
        ),
        lambda: write(withdraw_application, app_id, alice, now()),
    ):
        with pytest.raises(DeadlinePassed):
            attempt()

    # A retry of the on-time submit still gets its receipt after the deadline.
    assert write(submit_application, app_id, alice).reference == first.reference
    assert run(load_application(app_id, alice)).application["status"] == "submitted"


def test_own_extension_lets_one_applicant_submit_after_closing(open_round, alice, bob):
    apps = {}
    for user in (alice, bob):
        apps[user] = write(start_application, user, open_round.round_id, now())
        _complete(apps[user], user, open_round)
    _close_round(open_round, ago=timedelta(hours=1), grace=0)
    run(
        DeadlineExtension.insert(
            DeadlineExtension(
                round=open_round.round_id,
                applicant=alice,
                previous_closes_at=now(),
                closes_at=now() + timedelta(days=1),
                reason="Reasonable adjustment",
            )
        )
    )

    assert not write(submit_application, apps[alice], alice).in_grace
    with pytest.raises(DeadlinePassed):
        write(submit_application, apps[bob], bob)


# ---- Withdrawing -----------------------------------------------------------------


def test_withdraw_then_no_writes_until_started_again(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    write(submit_application, app_id, alice)

    assert write(withdraw_application, app_id, alice, now()) == []

    with pytest.raises(ApplicationWithdrawn):
        write(submit_application, app_id, alice)
    with pytest.raises(ApplicationWithdrawn):
        write(save_answers, app_id, alice, {open_round.questions[0]: "Edit"}, {}, now())
    assert write(start_application, alice, open_round.round_id, now()) == app_id
    assert run(load_application(app_id, alice)).application["status"] == "draft"
    assert write(submit_application, app_id, alice).version == 2


# ---- Concurrency -----------------------------------------------------------------


def test_fifty_concurrent_submits_give_one_submission(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)

    def receipt_mail(receipt: Receipt, applicant) -> Mail:
        return Mail(
            kind="receipt",
            dedupe_key=f"receipt:{receipt.application_id}:{receipt.version}",
            recipient=applicant["email"],
            subject=f"Received: {receipt.reference}",
            body_text=f"Hash {receipt.content_hash}",
        )

    async def go():
        return await asyncio.gather(
            *[
                in_write_transaction(submit_application, app_id, alice, receipt_mail=receipt_mail)
                for _ in range(50)
            ]
        )

    receipts = run(go())

    assert len({(r.reference, r.version, r.received_at, r.content_hash) for r in receipts}) == 1
    assert sum(not r.repeated for r in receipts) == 1
    assert run(_count(Submission, Submission.application == app_id)) == 1
    assert run(_count(OutboxMessage, OutboxMessage.kind == "receipt")) == 1  # one receipt mail
    assert run(_count(AuditEvent, AuditEvent.action == "application.submitted")) == 1


def test_concurrent_submits_around_the_closing_instant_are_each_decided_by_the_clock_read(settings):
    applicants = 16
    parts = run(
        make_round(
            **SHORT_FORM, opens_at=-timedelta(days=1), closes_at=timedelta(days=1), grace_minutes=0
        )
    )
    users = [
        run(make_user(f"applicant{i}@example.org", f"applicant{i}", password=None, verified=False))
        for i in range(applicants)
    ]
    apps = {}
    for user in users:
        apps[user] = write(start_application, user, parts.round_id, now())
        _complete(apps[user], user, parts)
    # Close about 1.5 s ahead by the database's own clock; submits spread over 3 s.
    closes_at = run(database_now()) + timedelta(seconds=1.5)
    run(Round.update({Round.closes_at: closes_at}).where(Round.id == parts.round_id))

    async def one(i: int, user: int):
        await asyncio.sleep(i * 3.0 / applicants)
        try:
            return await in_write_transaction(submit_application, apps[user], user)
        except DeadlinePassed as refused:
            return refused

    async def go():
        return await asyncio.gather(*[one(i, user) for i, user in enumerate(users)])

    results = run(go())

    accepted = [r for r in results if isinstance(r, Receipt)]
    refused = [r for r in results if isinstance(r, DeadlinePassed)]
    assert len(accepted) + len(refused) == applicants
    assert all(r.received_at < closes_at for r in accepted), "accepted late"
    assert all(r.received_at is not None and r.received_at >= closes_at for r in refused), (
        "refused on time"
    )
    assert accepted and refused, "the spread should straddle the closing instant"
    stored = run(
        Submission.select(Submission.received_at).where(
            Submission.application.is_in(list(apps.values()))
        )
    )
    assert len(stored) == len(accepted)
    assert all(row["received_at"] < closes_at for row in stored)


def test_a_submit_that_loses_the_race_to_an_on_time_one_gets_its_receipt(open_round, alice):
    """Issue 10: with many submits of one application racing the close, those processed
    after an on-time submission of the same content get its receipt, however late they
    arrived themselves, never "not submitted: this round closed"."""
    app_id = write(start_application, alice, open_round.round_id, now())
    _complete(app_id, alice, open_round)
    closes_at = run(database_now()) + timedelta(seconds=0.6)
    run(
        Round.update({Round.closes_at: closes_at, Round.grace_minutes: 0}).where(
            Round.id == open_round.round_id
        )
    )

    async def on_time() -> Receipt:
        async with db.write_transaction():
            receipt = await submit_application(app_id, alice)
            # Slow to commit (a loaded server): the others arrive after the close meanwhile.
            await asyncio.sleep(1.5)
            return receipt

    async def late(delay: float) -> Receipt | DeadlinePassed:
        await asyncio.sleep(delay)
        try:
            return await in_write_transaction(submit_application, app_id, alice)
        except DeadlinePassed as refused:
            return refused

    async def go():
        return await asyncio.gather(on_time(), *[late(0.8 + i * 0.02) for i in range(20)])

    first, *others = run(go())

    assert first.received_at < closes_at and not first.repeated
    refused = [r for r in others if isinstance(r, DeadlinePassed)]
    assert refused == [], f"{len(refused)} of {len(others)} were told it closed"
    assert {(r.reference, r.version, r.content_hash) for r in others} == {
        (first.reference, first.version, first.content_hash)
    }
    assert all(r.repeated for r in others)
    assert run(_count(Submission, Submission.application == app_id)) == 1


def _in_grace(parts: RoundSetup) -> None:
    """Closed a minute ago, inside the 10-minute grace: only the stage can stop a write."""
    closes = now() - timedelta(minutes=1)
    run(Round.update({Round.closes_at: closes}).where(Round.id == parts.round_id))


def test_a_write_in_progress_finishes_before_the_stage_move_commits(open_round, alice):
    """The move out of collecting waits for an applicant's write already under way, so
    the write lands before the stage change, never after it (issue 10)."""
    app_id = write(start_application, alice, open_round.round_id, now())
    _in_grace(open_round)
    moments: dict[str, float] = {}

    async def slow_save():
        async with db.write_transaction():
            await save_answers(app_id, alice, {open_round.questions[0]: "In flight"}, {}, now())
            await asyncio.sleep(1.0)
            moments["save commits"] = time.monotonic()

    async def move():
        await asyncio.sleep(0.3)
        async with db.write_transaction():
            await transition_round(
                open_round.round_id, RoundStage.scoring, ADMIN, now(), confirm_cutoff=True
            )
            moments["stage updated"] = time.monotonic()

    async def both():
        await asyncio.gather(slow_save(), move())

    run(both())

    # The stage's UPDATE could only go through once the save let go of the round.
    assert moments["stage updated"] > moments["save commits"]
    assert run(load_application(app_id, alice)).answers[open_round.questions[0]] == "In flight"


def test_a_write_that_starts_during_the_stage_move_is_refused(open_round, alice):
    app_id = write(start_application, alice, open_round.round_id, now())
    _in_grace(open_round)

    async def slow_move():
        async with db.write_transaction():
            await transition_round(
                open_round.round_id, RoundStage.scoring, ADMIN, now(), confirm_cutoff=True
            )
            await asyncio.sleep(1.0)

    async def save():
        await asyncio.sleep(0.3)
        try:
            await in_write_transaction(
                save_answers, app_id, alice, {open_round.questions[0]: "Too late"}, {}, now()
            )
        except DeadlinePassed as refused:
            return refused
        return None

    async def both():
        return await asyncio.gather(slow_move(), save())

    _, result = run(both())

    assert isinstance(result, DeadlinePassed) and result.stage == "scoring"
    assert run(load_application(app_id, alice)).answers == {}
