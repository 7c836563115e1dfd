"""Time rules: local times to UTC instants, and instants written the way people read them.

Closing times are entered in a round's zone, stored as aware UTC instants and shown
back in that zone. A wall-clock time that does not exist (the spring-forward gap) or
happens twice (the autumn fold) is refused at entry rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from portal.domain.errors import DomainError

DEFAULT_ZONE = "Europe/London"
ZONE_LABELS = {"Europe/London": "UK time"}
# Years outside this range are typing slips, and near year 1 or 9999 converting
# between zones overflows datetime.
MIN_YEAR, MAX_YEAR = 2000, 2100


class InvalidLocalTime(DomainError):
    """A local time that is malformed, missing at a clock change, or happens twice."""


def zone(name: str) -> ZoneInfo:
    try:
        if name not in _zones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        shown = name if len(name) <= 60 else name[:60] + "…"
        raise InvalidLocalTime(
            f"“{shown}” is not a time zone we know, such as Europe/London.", field="timezone"
        ) from None


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass aware UTC instants only")
    return value.astimezone(UTC)


def parse_local(day: str, clock: str, zone_name: str = DEFAULT_ZONE) -> datetime:
    """Turn a date ("2024-11-18") and a time ("10:00") entered in `zone_name` into UTC.

    Errors name the part that is wrong (`field` is "date" or "time"), so a form can
    put the message next to the right input.
    """
    try:
        local_day = date.fromisoformat(day.strip())
    except ValueError:
        raise InvalidLocalTime(
            "Enter the date as year-month-day, for example 2024-11-18.", field="date"
        ) from None
    try:
        local_time = time.fromisoformat(clock.strip())
    except ValueError:
        local_time = None
    # A time with its own offset ("10:00+05:00") would silently lose it below.
    if local_time is None or local_time.tzinfo is not None:
        raise InvalidLocalTime(
            "Enter the time as hours:minutes on a 24-hour clock, for example 10:00.", field="time"
        )
    return local_to_utc(
        datetime.combine(local_day, local_time.replace(second=0, microsecond=0)), zone_name
    )


def read_local(
    day: str,
    clock: str,
    zone_name: str,
    errors: dict[str, str],
    *,
    label: str,
    key: str,
    sep: str = "_",
) -> datetime | None:
    """A date and time entered on `zone_name`'s wall clock, as UTC, or None with the problem
    filed in `errors` under "<key><sep>date" or "<key><sep>time" and worded
    "<label> date: ...". Every form and API that takes local times reads them here."""
    try:
        return parse_local(day or "", clock or "", zone_name)
    except InvalidLocalTime as exc:
        part = exc.field if exc.field in ("date", "time") else "date"
        errors[f"{key}{sep}{part}"] = f"{label} {part}: {exc.message}"
        return None


def local_to_utc(naive_local: datetime, zone_name: str = DEFAULT_ZONE) -> datetime:
    tz = zone(zone_name)
    if not MIN_YEAR <= naive_local.year <= MAX_YEAR:
        raise InvalidLocalTime(f"Enter a year from {MIN_YEAR} to {MAX_YEAR}.", field="date")
    first = naive_local.replace(tzinfo=tz, fold=0)
    second = naive_local.replace(tzinfo=tz, fold=1)
    shown = f"{format_clock(naive_local)} on {naive_local:%A} {naive_local.day} {naive_local:%B %Y}"
    if first.utcoffset() != second.utcoffset():
        # Round-tripping tells a gap (the time never shows on a clock) from a fold.
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive_local:
            raise InvalidLocalTime(
                f"{shown} does not exist in {zone_label(zone_name)}: the clocks go forward then. "
                "Choose a time outside the missing hour.",
                field="time",
            )
        raise InvalidLocalTime(
            f"{shown} happens twice in {zone_label(zone_name)}: the clocks go back then. "
            "Choose a time outside the repeated hour.",
            field="time",
        )
    return first.astimezone(UTC)


def zone_label(zone_name: str) -> str:
    return ZONE_LABELS.get(zone_name, zone_name.replace("_", " "))


def format_clock(value: datetime | time) -> str:
    """10am, 10:30am, 12 noon, midnight."""
    hour, minute = value.hour, value.minute
    if (hour, minute) == (12, 0):
        return "12 noon"
    if (hour, minute) == (0, 0):
        return "midnight"
    suffix = "am" if hour < 12 else "pm"
    h12 = hour % 12 or 12
    return f"{h12}{suffix}" if minute == 0 else f"{h12}:{minute:02d}{suffix}"


def format_instant(instant: datetime, zone_name: str = DEFAULT_ZONE) -> str:
    """ "10am on Monday 18 November 2024 (UK time)"."""
    local = ensure_aware_utc(instant).astimezone(zone(zone_name))
    if (local.hour, local.minute) == (0, 0):
        # "Midnight on Tuesday" reads as the end of Tuesday, a day after 00:00 on
        # Tuesday: name the day that is ending instead.
        day_ending = local - timedelta(days=1)
        return f"midnight at the end of {day_ending:%A} {day_ending.day} {day_ending:%B %Y} ({zone_label(zone_name)})"
    return (
        f"{format_clock(local)} on {local:%A} {local.day} {local:%B %Y} ({zone_label(zone_name)})"
    )


def format_date(instant: datetime, zone_name: str = DEFAULT_ZONE) -> str:
    local = ensure_aware_utc(instant).astimezone(zone(zone_name))
    return f"{local:%A} {local.day} {local:%B %Y}"


def to_local_inputs(instant: datetime, zone_name: str = DEFAULT_ZONE) -> tuple[str, str]:
    """The (date, time) strings a form shows for an instant, in the round's zone."""
    local = ensure_aware_utc(instant).astimezone(zone(zone_name))
    return local.date().isoformat(), f"{local:%H:%M}"


def describe_remaining(deadline: datetime, now: datetime) -> str:
    """ "3 days 4 hours left", "45 minutes left", "closed"."""
    left = ensure_aware_utc(deadline) - ensure_aware_utc(now)
    if left <= timedelta(0):
        return "closed"
    return f"{describe_duration(left)} left"


def describe_until(instant: datetime, now: datetime) -> str:
    """ "in 3 days 4 hours", "in 45 minutes", "now" (for a round that has not opened yet)."""
    ahead = ensure_aware_utc(instant) - ensure_aware_utc(now)
    if ahead <= timedelta(0):
        return "now"
    return f"in {describe_duration(ahead)}"


def describe_duration(span: timedelta) -> str:
    """ "3 days 4 hours", "2 hours 5 minutes", "45 minutes", "less than a minute": two units at most."""
    minutes = int(span.total_seconds() // 60)
    days, rem = divmod(minutes, 24 * 60)
    hours, mins = divmod(rem, 60)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if days:
        parts = [unit(days, "day")] + ([unit(hours, "hour")] if hours else [])
    elif hours:
        parts = [unit(hours, "hour")] + ([unit(mins, "minute")] if mins else [])
    elif mins:
        parts = [unit(mins, "minute")]
    else:
        return "less than a minute"
    return " ".join(parts)
