"""The deadline rule at its boundaries: before, at, inside and past the grace, with and
without an extension, and across the UK clock changes (compared as instants)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal.domain.rounds.deadline import (
    GRACE_ALLOWS,
    IN_GRACE,
    LATE,
    ON_TIME,
    DeadlinePassed,
    acceptance,
    can_start,
    can_write,
    effective_deadline,
    ensure_can_start,
    ensure_can_write,
)
from portal.domain.timerules import local_to_utc

MS = timedelta(milliseconds=1)
# 10am on Monday 18 November 2024, UK time (GMT, so also 10:00 UTC).
CLOSES = datetime(2024, 11, 18, 10, 0, tzinfo=UTC)
GRACE = 10


def test_acceptance_just_before_closing_is_on_time():
    assert acceptance(CLOSES - MS, CLOSES, GRACE) == ON_TIME


def test_acceptance_exactly_at_closing_is_in_grace():
    result = acceptance(CLOSES, CLOSES, GRACE)

    assert result == IN_GRACE
    assert not result.on_time


def test_acceptance_at_the_last_instant_of_grace_is_in_grace():
    assert acceptance(CLOSES + timedelta(minutes=GRACE) - MS, CLOSES, GRACE) == IN_GRACE


def test_acceptance_exactly_when_grace_ends_is_late():
    assert acceptance(CLOSES + timedelta(minutes=GRACE), CLOSES, GRACE) == LATE


def test_acceptance_with_no_grace_is_late_exactly_at_closing():
    assert acceptance(CLOSES - MS, CLOSES, 0) == ON_TIME
    assert acceptance(CLOSES, CLOSES, 0) == LATE


def test_acceptance_refuses_naive_times():
    with pytest.raises(ValueError):
        acceptance(datetime(2024, 11, 18, 9, 0), CLOSES, GRACE)


def test_effective_deadline_without_extension_is_the_round_closing():
    assert effective_deadline(CLOSES, None) == CLOSES


def test_effective_deadline_takes_a_later_extension():
    extension = CLOSES + timedelta(days=2)

    assert effective_deadline(CLOSES, extension) == extension


def test_effective_deadline_ignores_an_earlier_extension():
    assert effective_deadline(CLOSES, CLOSES - timedelta(hours=1)) == CLOSES


def test_acceptance_with_extension_at_its_boundaries():
    deadline = effective_deadline(CLOSES, CLOSES + timedelta(days=2))

    assert acceptance(CLOSES + timedelta(hours=1), deadline, GRACE) == ON_TIME
    assert acceptance(deadline - MS, deadline, GRACE) == ON_TIME
    assert acceptance(deadline, deadline, GRACE) == IN_GRACE
    assert acceptance(deadline + timedelta(minutes=GRACE), deadline, GRACE) == LATE


def test_acceptance_after_spring_forward_uses_summer_time():
    # 10am UK time on Monday 1 April 2024 is 09:00 UTC (BST): 09:59 UTC is 10:59 there.
    closes = local_to_utc(datetime(2024, 4, 1, 10, 0), "Europe/London")

    assert closes == datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
    assert acceptance(closes - MS, closes, GRACE) == ON_TIME
    assert acceptance(datetime(2024, 4, 1, 9, 59, 59, tzinfo=UTC), closes, GRACE) == LATE


def test_extension_across_autumn_clock_change_keeps_instants():
    # Round closes 10am Friday 25 Oct 2024 (BST, 09:00 UTC); extended to 10am Monday
    # 28 Oct 2024 (GMT, 10:00 UTC) over the Sunday the clocks go back.
    closes = local_to_utc(datetime(2024, 10, 25, 10, 0), "Europe/London")
    extension = local_to_utc(datetime(2024, 10, 28, 10, 0), "Europe/London")
    deadline = effective_deadline(closes, extension)

    assert deadline == datetime(2024, 10, 28, 10, 0, tzinfo=UTC)
    assert (
        acceptance(datetime(2024, 10, 28, 9, 59, 59, 999000, tzinfo=UTC), deadline, GRACE)
        == ON_TIME
    )
    assert acceptance(datetime(2024, 10, 28, 10, 0, tzinfo=UTC), deadline, GRACE) == IN_GRACE
    assert acceptance(datetime(2024, 10, 28, 10, 10, tzinfo=UTC), deadline, GRACE) == LATE


def test_grace_spanning_the_autumn_fold_is_measured_in_real_minutes():
    # Deadline 01:55 BST on Sunday 27 Oct 2024 (00:55 UTC). Ten minutes later the
    # wall clock reads 01:05 GMT, "before" 01:55: still the instant decides.
    deadline = datetime(2024, 10, 27, 0, 55, tzinfo=UTC)
    wall_clock_earlier = datetime(2024, 10, 27, 1, 0, tzinfo=UTC)  # 01:00 GMT

    assert acceptance(wall_clock_earlier, deadline, GRACE) == IN_GRACE
    assert acceptance(datetime(2024, 10, 27, 1, 5, tzinfo=UTC), deadline, GRACE) == LATE


def test_ensure_can_write_before_and_inside_grace_allows():
    ensure_can_write(CLOSES - MS, CLOSES, GRACE)
    ensure_can_write(CLOSES + timedelta(minutes=GRACE) - MS, CLOSES, GRACE)


def test_ensure_can_write_after_grace_states_closing_time_in_round_zone():
    with pytest.raises(DeadlinePassed) as caught:
        ensure_can_write(CLOSES + timedelta(minutes=GRACE), CLOSES, GRACE, "Europe/London")

    assert str(caught.value).startswith(
        "This round closed at 10am on Monday 18 November 2024 (UK time)."
    )
    assert caught.value.closes_at == CLOSES


def test_ensure_can_write_in_summer_states_local_time():
    closes = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)

    with pytest.raises(DeadlinePassed, match=r"10am on Monday 3 June 2024 \(UK time\)"):
        ensure_can_write(closes + timedelta(hours=1), closes, GRACE, "Europe/London")


def test_ensure_can_write_with_extension_names_the_extended_deadline():
    deadline = effective_deadline(CLOSES, CLOSES + timedelta(days=1))

    with pytest.raises(
        DeadlinePassed, match=r"Your extended deadline .* 10am on Tuesday 19 November 2024"
    ):
        ensure_can_write(deadline + timedelta(hours=1), deadline, GRACE, extended=True)


# ---- Issue 10: the grace finishes work, never starts it; the stage ends everything ----


@pytest.mark.parametrize(
    ("received", "start", "finish", "change"),
    [
        (CLOSES - MS, True, True, True),  # before the deadline: anything
        (CLOSES, False, True, False),  # exactly at it: in the grace
        (CLOSES + timedelta(minutes=GRACE) - MS, False, True, False),
        (CLOSES + timedelta(minutes=GRACE), False, False, False),  # the grace is over
    ],
)
def test_the_grace_only_finishes_work_that_existed_at_the_close(received, start, finish, change):
    assert can_start(received, CLOSES) is start
    assert can_write(received, CLOSES, GRACE, finishing=True) is finish
    assert can_write(received, CLOSES, GRACE, finishing=False) is change


@pytest.mark.parametrize("stage", ["scoring", "shortlisted", "decided", "archived"])
def test_no_write_once_the_round_has_left_collecting_even_before_the_deadline(stage):
    assert not can_start(CLOSES - timedelta(days=1), CLOSES, stage)
    assert not can_write(CLOSES - timedelta(days=1), CLOSES, GRACE, stage)
    assert not can_write(CLOSES + MS, CLOSES, GRACE, stage, finishing=True)
    with pytest.raises(DeadlinePassed, match="panel's work on it has begun") as refused:
        ensure_can_write(CLOSES + MS, CLOSES, GRACE, stage=stage)
    assert "10am on Monday 18 November 2024 (UK time)" in refused.value.message


def test_a_start_in_the_grace_is_refused_with_the_closing_time():
    with pytest.raises(DeadlinePassed) as refused:
        ensure_can_start(CLOSES + MS, CLOSES)
    assert refused.value.message == (
        "This round closed at 10am on Monday 18 November 2024 (UK time). "
        "New applications can no longer be started."
    )


def test_the_readme_says_exactly_what_the_grace_allows():
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert " ".join(GRACE_ALLOWS.split()) in readme
