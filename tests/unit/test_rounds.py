"""Round phase: computed from the times and the clock, at and around each boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.domain.rounds.phase import RoundPhase, RoundStage, RoundView, is_open, round_phase
from portal.domain.seats.listings import pick_round
from portal.domain.timerules import parse_local

OPENS = datetime(2024, 11, 1, 9, 0, tzinfo=UTC)
CLOSES = datetime(2024, 11, 18, 10, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("now", "phase"),
    [
        (OPENS - TICK, RoundPhase.upcoming),
        (OPENS, RoundPhase.open),
        (OPENS + TICK, RoundPhase.open),
        (CLOSES - TICK, RoundPhase.open),
        (CLOSES, RoundPhase.closed),
        (CLOSES + TICK, RoundPhase.closed),
    ],
    ids=[
        "just before opening",
        "exactly at opening",
        "just after opening",
        "just before closing",
        "exactly at closing",
        "just after closing",
    ],
)
def test_round_phase_at_the_boundaries(now, phase):
    assert round_phase(OPENS, CLOSES, now) is phase
    assert is_open(OPENS, CLOSES, now) is (phase is RoundPhase.open)


def test_round_phase_is_the_same_whatever_zone_the_clock_is_read_in():
    just_before = (CLOSES - TICK).astimezone(ZoneInfo("Pacific/Auckland"))

    assert round_phase(OPENS, CLOSES, just_before) is RoundPhase.open
    assert (
        round_phase(OPENS, CLOSES, CLOSES.astimezone(ZoneInfo("America/New_York")))
        is RoundPhase.closed
    )


@pytest.mark.parametrize(
    ("local_now", "phase"),
    [("09:59", RoundPhase.open), ("10:00", RoundPhase.closed)],
)
def test_closing_across_the_october_clock_change(local_now, phase):
    # Opened in BST, closes at 10am GMT on Monday 28 October 2024.
    opens, closes = parse_local("2024-10-21", "10:00"), parse_local("2024-10-28", "10:00")

    assert round_phase(opens, closes, parse_local("2024-10-28", local_now)) is phase


@pytest.mark.parametrize(
    ("local_now", "phase"),
    [("09:59", RoundPhase.open), ("10:00", RoundPhase.closed)],
)
def test_closing_across_the_march_clock_change(local_now, phase):
    # Opened in GMT, closes at 10am BST on Monday 1 April 2024 (09:00 UTC).
    opens, closes = parse_local("2024-03-25", "10:00"), parse_local("2024-04-01", "10:00")

    assert round_phase(opens, closes, parse_local("2024-04-01", local_now)) is phase


def test_round_phase_refuses_naive_times():
    with pytest.raises(ValueError):
        round_phase(OPENS, CLOSES, datetime(2024, 11, 10, 12, 0))


def _row(round_id: int, opens: datetime, closes: datetime, **extra) -> dict:
    return {
        "id": round_id,
        "seat": 1,
        "timezone": "Europe/London",
        "opens_at": opens,
        "closes_at": closes,
        "stage": "collecting",
        **extra,
    }


def test_round_view_writes_times_for_people():
    now = CLOSES - timedelta(days=3, hours=4, minutes=30)

    view = RoundView.of(_row(7, OPENS, CLOSES), now)

    assert view.phase is RoundPhase.open
    assert view.stage is RoundStage.collecting
    assert view.closes_text == "10am on Monday 18 November 2024 (UK time)"
    assert view.opens_text == "9am on Friday 1 November 2024 (UK time)"
    assert view.remaining_text == "3 days 4 hours left"


def test_round_view_of_a_closed_round_says_closed():
    assert RoundView.of(_row(7, OPENS, CLOSES), CLOSES).remaining_text == "closed"


def test_pick_round_prefers_open_then_next_then_last_closed():
    now = CLOSES
    day = timedelta(days=1)
    old = RoundView.of(_row(1, now - 30 * day, now - 20 * day), now)
    recent = RoundView.of(_row(2, now - 10 * day, now - 5 * day), now)
    open_late = RoundView.of(_row(3, now - day, now + 9 * day), now)
    open_soon = RoundView.of(_row(4, now - day, now + 2 * day), now)
    next_ = RoundView.of(_row(5, now + 3 * day, now + 9 * day), now)
    after = RoundView.of(_row(6, now + 30 * day, now + 40 * day), now)

    assert pick_round([old, recent, open_late, open_soon, next_, after]) is open_soon
    assert pick_round([old, recent, after, next_]) is next_
    assert pick_round([old, recent]) is recent
    assert pick_round([]) is None
