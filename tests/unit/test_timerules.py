"""Time rules: local times to UTC, clock changes in Europe/London, and times written for people."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from portal.domain.timerules import (
    InvalidLocalTime,
    describe_remaining,
    describe_until,
    ensure_aware_utc,
    format_clock,
    format_instant,
    local_to_utc,
    parse_local,
    to_local_inputs,
    zone,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- entering a local time ---------------------------------------------------------------


def test_local_time_in_winter_is_the_same_instant_in_utc():
    assert parse_local("2024-11-18", "10:00") == utc(2024, 11, 18, 10, 0)


def test_local_time_in_summer_is_an_hour_ahead_of_utc():
    assert parse_local("2024-07-01", "10:00") == utc(2024, 7, 1, 9, 0)


def test_nonexistent_local_time_at_the_march_clock_change_is_refused():
    # 2024-03-31: clocks go from 01:00 GMT straight to 02:00 BST.
    with pytest.raises(InvalidLocalTime) as refused:
        parse_local("2024-03-31", "01:30")

    assert "1:30am on Sunday 31 March 2024 does not exist in UK time" in refused.value.message
    assert "clocks go forward" in refused.value.message
    assert refused.value.field == "time"


def test_ambiguous_local_time_at_the_october_clock_change_is_refused():
    # 2024-10-27: clocks go from 02:00 BST back to 01:00 GMT, so 01:30 happens twice.
    with pytest.raises(InvalidLocalTime) as refused:
        parse_local("2024-10-27", "01:30")

    assert "1:30am on Sunday 27 October 2024 happens twice in UK time" in refused.value.message
    assert "clocks go back" in refused.value.message


@pytest.mark.parametrize(
    ("day", "clock", "expected"),
    [
        ("2024-03-31", "00:59", utc(2024, 3, 31, 0, 59)),  # just before the gap, GMT
        ("2024-03-31", "02:00", utc(2024, 3, 31, 1, 0)),  # just after the gap, BST
        ("2024-10-27", "00:59", utc(2024, 10, 26, 23, 59)),  # just before the fold, BST
        ("2024-10-27", "02:00", utc(2024, 10, 27, 2, 0)),  # just after the fold, GMT
    ],
)
def test_times_either_side_of_a_clock_change_are_accepted(day, clock, expected):
    assert parse_local(day, clock) == expected


@pytest.mark.parametrize(
    ("day", "clock", "field"),
    [
        ("18/11/2024", "10:00", "date"),
        ("2024-02-30", "10:00", "date"),
        ("", "10:00", "date"),
        ("2024-11-18", "25:00", "time"),
        ("2024-11-18", "10am", "time"),
        ("2024-11-18", "", "time"),
        ("2024-11-18", "10:00+05:00", "time"),
        ("1066-10-14", "10:00", "date"),
    ],
)
def test_malformed_dates_and_times_are_refused_with_a_message(day, clock, field):
    with pytest.raises(InvalidLocalTime) as refused:
        parse_local(day, clock)

    assert refused.value.field == field
    assert refused.value.message.startswith("Enter ")


def test_unknown_time_zone_is_refused_with_a_message():
    with pytest.raises(InvalidLocalTime) as refused:
        zone("Europe/Atlantis")

    assert "is not a time zone we know" in refused.value.message


def test_local_time_in_another_zone():
    assert local_to_utc(datetime(2024, 11, 18, 10, 0), "Europe/Paris") == utc(2024, 11, 18, 9, 0)


def test_form_inputs_show_the_instant_in_the_rounds_zone():
    assert to_local_inputs(utc(2024, 7, 1, 9, 0)) == ("2024-07-01", "10:00")


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError):
        ensure_aware_utc(datetime(2024, 11, 18, 10, 0))


# --- writing an instant for people -------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2024, 11, 18, 10, 0), "10am on Monday 18 November 2024 (UK time)"),
        (utc(2024, 11, 18, 12, 0), "12 noon on Monday 18 November 2024 (UK time)"),
        (utc(2024, 11, 18, 10, 30), "10:30am on Monday 18 November 2024 (UK time)"),
        (utc(2024, 11, 18, 17, 5), "5:05pm on Monday 18 November 2024 (UK time)"),
        (utc(2024, 7, 1, 9, 0), "10am on Monday 1 July 2024 (UK time)"),  # BST
        (utc(2024, 11, 18, 0, 0), "midnight at the end of Sunday 17 November 2024 (UK time)"),
    ],
)
def test_format_instant_reads_the_way_people_write_deadlines(instant, expected):
    assert format_instant(instant) == expected


def test_format_instant_in_another_zone_names_it():
    assert (
        format_instant(utc(2024, 11, 18, 9, 0), "Europe/Paris")
        == "10am on Monday 18 November 2024 (Europe/Paris)"
    )


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        (time(0, 0), "midnight"),
        (time(0, 30), "12:30am"),
        (time(12, 0), "12 noon"),
        (time(12, 30), "12:30pm"),
        (time(23, 59), "11:59pm"),
    ],
)
def test_format_clock(clock, expected):
    assert format_clock(clock) == expected


# --- closing times across the clock changes ----------------------------------------------


def test_closing_after_the_october_change_is_shown_in_gmt_and_counted_in_real_hours():
    closes = parse_local("2024-10-28", "10:00")  # after the clocks went back
    now = parse_local("2024-10-26", "10:00")  # before, in BST

    assert closes == utc(2024, 10, 28, 10, 0)
    assert format_instant(closes) == "10am on Monday 28 October 2024 (UK time)"
    # Two calendar days on the wall clock, but 49 real hours: the extra hour is real time to apply.
    assert describe_remaining(closes, now) == "2 days 1 hour left"


def test_closing_after_the_march_change_is_shown_in_bst_and_counted_in_real_hours():
    closes = parse_local("2024-04-01", "10:00")  # after the clocks went forward
    now = parse_local("2024-03-30", "10:00")  # before, in GMT

    assert closes == utc(2024, 4, 1, 9, 0)
    assert format_instant(closes) == "10am on Monday 1 April 2024 (UK time)"
    assert describe_remaining(closes, now) == "1 day 23 hours left"


# --- time remaining ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (timedelta(days=3, hours=4, minutes=59), "3 days 4 hours left"),
        (timedelta(days=1), "1 day left"),
        (timedelta(days=2, minutes=30), "2 days left"),
        (timedelta(hours=1, minutes=1), "1 hour 1 minute left"),
        (timedelta(hours=5), "5 hours left"),
        (timedelta(minutes=45, seconds=59), "45 minutes left"),
        (timedelta(seconds=59), "less than a minute left"),
        (timedelta(microseconds=1), "less than a minute left"),
        (timedelta(0), "closed"),
        (timedelta(seconds=-1), "closed"),
    ],
)
def test_describe_remaining(left, expected):
    now = utc(2024, 11, 15, 9, 0)
    assert describe_remaining(now + left, now) == expected


def test_describe_until_an_opening():
    now = utc(2024, 11, 15, 9, 0)

    assert describe_until(now + timedelta(days=9, hours=22), now) == "in 9 days 22 hours"
    assert describe_until(now + timedelta(seconds=30), now) == "in less than a minute"
    assert describe_until(now, now) == "now"
