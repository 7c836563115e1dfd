"""The outbox's rules on late mail, failures and the admin's decisions, at a fixed clock.

Each test calls the domain directly on a real (migrated) database with a `now` it
chooses, so the boundaries (exactly at the age limit, exactly at the expiry) are
checked without waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal import db
from portal.domain.audit import Actor
from portal.domain.errors import Conflict, NotFound
from portal.domain.outbox import delivery, messages, review
from portal.domain.outbox.delivery import EXPIRED_REASON, LEASE
from portal.domain.outbox.messages import Mail, enqueue_mail
from portal.domain.outbox.queries import parse_outbox_filter, queue_health
from portal.tables import OutboxMessage
from tests.factories import run, write

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
ADMIN = Actor(user_id=None, label="ada@example.org")


def add(key: str, *, created: datetime = NOW, expires_at: datetime | None = None, **changes) -> int:
    async def insert() -> int:
        message_id = await enqueue_mail(
            Mail(
                kind="test",
                dedupe_key=key,
                recipient=f"{key}@example.org",
                subject=key,
                body_text=key,
                expires_at=expires_at,
            ),
            created,
        )
        if changes:
            await OutboxMessage.update(changes).where(OutboxMessage.id == message_id)
        return message_id

    return write(insert)


def row(message_id: int) -> dict:
    return run(OutboxMessage.select().where(OutboxMessage.id == message_id).first().run())


def claim(message_id: int, now: datetime = NOW, max_age: timedelta = DAY):
    return run(delivery.claim_message(message_id, now, max_age=max_age))


def settle(now: datetime = NOW, max_age: timedelta = DAY):
    return run(delivery.settle_late_messages(now, max_age=max_age))


def in_transaction(coro_fn):
    async def go():
        async with db.write_transaction():
            return await coro_fn()

    return run(go())


# ---- Pure rules ----------------------------------------------------------------------


def test_the_held_reason_names_the_limit_in_hours():
    assert delivery.held_reason(DAY) == (
        "Not sent: it waited more than 24 hours. Send it anyway or discard it."
    )
    assert delivery.describe_age_limit(timedelta(hours=1)) == "1 hour"
    assert delivery.describe_age_limit(timedelta(hours=1.5)) == "1 hour 30 minutes"
    assert delivery.describe_age_limit(timedelta(hours=72)) == "72 hours"


def test_too_old_and_expired_on_a_row():
    young = {"created_at": NOW - DAY, "released_at": None, "expires_at": None}
    assert not delivery.is_too_old(young, NOW, DAY)  # exactly at the limit: still in time
    old = {**young, "created_at": NOW - DAY - timedelta(seconds=1)}
    assert delivery.is_too_old(old, NOW, DAY)
    assert not delivery.is_too_old({**old, "released_at": NOW}, NOW, DAY)
    assert not delivery.is_expired(young, NOW)
    assert delivery.is_expired({**young, "expires_at": NOW}, NOW)  # at the instant: too late
    assert not delivery.is_expired({**young, "expires_at": NOW + timedelta(seconds=1)}, NOW)


def test_filter_parsing_drops_what_cannot_mean_anything():
    f = parse_outbox_filter("held", "reminder", "12", " Bo@Example.org ", "3")
    assert (f.status, f.kind, f.round_id, f.recipient, f.page) == (
        "held",
        "reminder",
        12,
        "bo@example.org",
        3,
    )
    assert f.exact_recipient and f.problems == ()
    assert not parse_outbox_filter(recipient="example.org").exact_recipient
    bad = parse_outbox_filter("nope", "k" * 10_000, "12abc", "r" * 10_000, "-1")
    assert (bad.status, bad.kind, bad.round_id, bad.recipient, bad.page) == ("", "", None, "", 1)
    assert len(bad.problems) == 4
    assert parse_outbox_filter(round_value="3000000000").round_id is None
    assert parse_outbox_filter(page="99999999999").page == 1
    assert parse_outbox_filter(page="500000").page == 100_000
    assert parse_outbox_filter(status="held", page="2").query(3) == {"status": "held", "page": "3"}


# ---- Claim ---------------------------------------------------------------------------


def test_claim_refuses_a_message_past_the_age_limit(settings):
    in_time = add("in-time", created=NOW - DAY)
    too_old = add("too-old", created=NOW - DAY - timedelta(seconds=1))
    assert claim(in_time) is not None
    assert claim(too_old) is None
    assert row(too_old)["status"] == "pending" and row(too_old)["attempts"] == 0
    # The limit is the caller's: with a week, the same message goes.
    assert claim(too_old, max_age=timedelta(days=7)) is not None


def test_claim_sends_an_old_message_once_an_admin_released_it(settings):
    released = add("released", created=NOW - timedelta(days=3), released_at=NOW)
    claimed = claim(released)
    assert claimed is not None and claimed["status"] == "sending"


def test_claim_refuses_an_expired_message_even_when_released(settings):
    expired = add("expired", expires_at=NOW)
    released = add("released-expired", expires_at=NOW - timedelta(hours=1), released_at=NOW)
    in_time = add("in-time", expires_at=NOW + timedelta(seconds=1))
    assert claim(expired) is None and claim(released) is None
    assert claim(in_time) is not None


def test_claim_refuses_held_and_discarded(settings):
    held = add("held", status="held")
    discarded = add("discarded", status="discarded")
    assert claim(held) is None and claim(discarded) is None


# ---- Failures ------------------------------------------------------------------------


def test_every_failure_stamps_failed_at(settings):
    temporary = add("temporary")
    permanent = add("permanent")
    last = add("last", attempts=delivery.MAX_ATTEMPTS - 1)
    for message_id in (temporary, permanent, last):
        assert claim(message_id) is not None
    later = NOW + timedelta(minutes=1)
    assert (
        run(delivery.mark_temporary_failure(temporary, 1, "451 busy", later))
        == messages.OutboxState.pending
    )
    run(delivery.mark_permanent_failure(permanent, "550 no such user", later))
    assert (
        run(delivery.mark_temporary_failure(last, delivery.MAX_ATTEMPTS, "451 busy", later))
        == messages.OutboxState.failed
    )
    assert row(temporary)["failed_at"] == later and row(temporary)["status"] == "pending"
    assert row(temporary)["next_attempt_at"] == later + timedelta(seconds=30)
    assert row(permanent)["failed_at"] == later and row(permanent)["status"] == "failed"
    assert row(permanent)["last_error"] == "550 no such user"
    assert row(last)["failed_at"] == later and row(last)["status"] == "failed"


# ---- A delivery interrupted by a stopping worker ------------------------------------


def test_an_interrupted_delivery_is_due_again_at_once_not_after_the_lease(settings):
    message_id = add("interrupted")
    claimed = claim(message_id)
    later = NOW + timedelta(seconds=7)
    assert run(delivery.requeue_interrupted(message_id, claimed["attempts"], later)) is True
    after = row(message_id)
    assert after["status"] == "pending" and after["next_attempt_at"] == later
    assert after["last_error"] == delivery.INTERRUPTED_REASON
    assert after["failed_at"] is None, "an interruption is not a failure"
    # The sweep finds it at once, and the next claim takes it (well inside the lease).
    assert message_id in run(delivery.due_message_ids(later, max_age=DAY))
    again = claim(message_id, later)
    assert again is not None and again["attempts"] == claimed["attempts"] + 1


def test_requeue_moves_only_the_callers_own_claim(settings):
    stale = add("stale")
    first = claim(stale)
    # The lease ran out and another worker claimed it again: the first cannot undo that.
    after_lease = NOW + LEASE + timedelta(seconds=1)
    assert claim(stale, after_lease) is not None
    assert run(delivery.requeue_interrupted(stale, first["attempts"], after_lease)) is False
    assert row(stale)["status"] == "sending"
    # Sent (or not claimed at all): nothing to put back.
    sent = add("sent")
    claimed = claim(sent)
    run(delivery.mark_sent(sent, NOW))
    assert run(delivery.requeue_interrupted(sent, claimed["attempts"], NOW)) is False
    assert row(sent)["status"] == "sent"
    pending = add("pending")
    assert run(delivery.requeue_interrupted(pending, 0, NOW)) is False


def test_a_row_without_a_dedupe_key_waits_for_the_lease(settings):
    """Its Message-ID would be new on every send, so a copy the server may already have
    taken could not be recognised: it is not put back early."""
    message_id = add("no-key")
    claimed = claim(message_id)
    run(
        OutboxMessage.update({OutboxMessage.dedupe_key: ""})
        .where(OutboxMessage.id == message_id)
        .run()
    )
    assert run(delivery.requeue_interrupted(message_id, claimed["attempts"], NOW)) is False
    assert row(message_id)["status"] == "sending"


# ---- The sweep's moves ---------------------------------------------------------------


def test_sweep_holds_late_rows_and_discards_expired_ones(settings):
    old = NOW - DAY - timedelta(minutes=1)
    late = add("late", created=old)
    late_with_error = add("late-error", created=old, last_error="451 busy", attempts=3)
    stuck_late = add(
        "stuck-late", created=old, status="sending", claimed_at=NOW - LEASE - timedelta(seconds=1)
    )
    leased_late = add("leased-late", created=old, status="sending", claimed_at=NOW)
    released = add("released", created=old, released_at=NOW - timedelta(minutes=1))
    young = add("young", created=NOW - timedelta(hours=1))
    expired = add("expired", expires_at=NOW - timedelta(seconds=1))
    expired_held = add("expired-held", status="held", expires_at=NOW)
    expired_and_late = add("expired-late", created=old, expires_at=NOW - timedelta(hours=1))
    failed_late = add("failed-late", created=old, status="failed")
    sent_expired = add("sent-expired", status="sent", expires_at=NOW - timedelta(hours=1))

    discarded, held = settle()

    assert sorted(discarded) == sorted([expired, expired_held, expired_and_late])
    assert held == sorted([late, late_with_error, stuck_late])
    for message_id in held:
        assert row(message_id)["status"] == "held"
    assert row(late)["last_error"] == delivery.held_reason(DAY)
    assert (
        row(late_with_error)["last_error"] == delivery.held_reason(DAY) + " Before that: 451 busy"
    )
    for message_id in discarded:
        assert row(message_id)["status"] == "discarded"
        assert row(message_id)["last_error"] == EXPIRED_REASON
    assert row(leased_late)["status"] == "sending"  # a worker is on it right now
    assert row(released)["status"] == "pending" and row(young)["status"] == "pending"
    assert row(failed_late)["status"] == "failed"  # waits for a person anyway
    assert row(sent_expired)["status"] == "sent"
    assert settle() == ([], [])  # nothing left to move: the sweep is idempotent


def test_due_ids_leave_out_what_the_claim_would_refuse(settings):
    due = add("due")
    add("late", created=NOW - DAY - timedelta(seconds=1))
    add("expired", expires_at=NOW)
    add("held", status="held")
    add("later", next_attempt_at=NOW + timedelta(seconds=1))
    released = add("released", created=NOW - timedelta(days=2), released_at=NOW)
    ids = run(delivery.due_message_ids(NOW, max_age=DAY))
    assert ids == [due, released]


# ---- Admin decisions -----------------------------------------------------------------


def test_releasing_a_held_message_sends_it_regardless_of_age(settings):
    held = add(
        "held",
        created=NOW - timedelta(days=2),
        status="held",
        attempts=3,
        last_error=delivery.held_reason(DAY),
    )
    assert claim(held) is None
    previous = in_transaction(lambda: review.retry_message(held, ADMIN, NOW))
    assert previous == "held"
    released = row(held)
    assert released["status"] == "pending" and released["released_at"] == NOW
    assert released["attempts"] == 0 and released["next_attempt_at"] == NOW
    settle()  # the sweep does not hold it again
    assert row(held)["status"] == "pending"
    assert claim(held) is not None


def test_retrying_an_old_failed_message_also_releases_it(settings):
    failed = add("failed", created=NOW - timedelta(days=3), status="failed", attempts=8)
    assert in_transaction(lambda: review.retry_message(failed, ADMIN, NOW)) == "failed"
    assert row(failed)["released_at"] == NOW
    settle()
    assert claim(failed) is not None


def test_an_expired_message_cannot_be_released(settings):
    held = add("held", status="held", expires_at=NOW - timedelta(minutes=1))
    with pytest.raises(Conflict, match="the deadline it was about has passed"):
        in_transaction(lambda: review.retry_message(held, ADMIN, NOW))
    assert row(held)["status"] == "held" and row(held)["released_at"] is None


def test_discard_takes_held_pending_and_failed_only(settings):
    for status in ("held", "pending", "failed"):
        message_id = add(f"discard-{status}", status=status)
        in_transaction(lambda message_id=message_id: review.discard_message(message_id, ADMIN, NOW))
        assert row(message_id)["status"] == "discarded"
    for status in ("sending", "sent", "discarded"):
        message_id = add(f"keep-{status}", status=status)
        with pytest.raises(Conflict, match=f"this one is {status}"):
            in_transaction(
                lambda message_id=message_id: review.discard_message(message_id, ADMIN, NOW)
            )
        assert row(message_id)["status"] == status


def test_unknown_ids_are_not_found(settings):
    for message_id in (0, -1, 4242, 2**31, 2**63):
        with pytest.raises(NotFound):
            in_transaction(
                lambda message_id=message_id: review.retry_message(message_id, ADMIN, NOW)
            )


# ---- Queue health --------------------------------------------------------------------


def test_queue_health_counts_at_a_fixed_clock(settings):
    empty = run(queue_health(NOW))
    assert empty.oldest_pending is None and empty.oldest_pending_age is None
    assert not empty.stalled and empty.failures_last_hour == 0 and empty.held == 0

    oldest = add("oldest", created=NOW - timedelta(minutes=9))
    add("newer", created=NOW - timedelta(minutes=2))
    add("failed-recently", status="failed", failed_at=NOW - timedelta(minutes=59))
    add("failed-earlier", status="failed", failed_at=NOW - timedelta(minutes=61))
    add("held", status="held", created=NOW - timedelta(days=2))
    health = run(queue_health(NOW))
    assert health.oldest_pending["id"] == oldest
    assert health.oldest_pending_age == timedelta(minutes=9)
    assert health.failures_last_hour == 1 and health.held == 1
    assert not health.stalled  # due for 9 minutes: within the 10 allowed

    assert run(queue_health(NOW + timedelta(minutes=2))).stalled


def test_a_backing_off_message_does_not_count_as_a_stall(settings):
    add(
        "backing-off",
        created=NOW - timedelta(hours=2),
        next_attempt_at=NOW + timedelta(minutes=30),
        failed_at=NOW - timedelta(minutes=1),
    )
    health = run(queue_health(NOW))
    assert health.oldest_pending_age == timedelta(hours=2)
    assert health.longest_overdue is None and not health.stalled
