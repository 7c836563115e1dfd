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


class InvalidLocalTime(DomainError):
    """A local time that is malformed, missing at a clock change, or happens twice."""


def zone(name: str) -> ZoneInfo:
    try:
        if name not in _zones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidLocalTime(f"“{name}” is not a time zone we know, such as Europe/London.") from None


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
    """Turn a date ("2024-11-18") and a time ("10:00") entered in `zone_name` into UTC."""
    try:
        local_day = date.fromisoformat(day.strip())
    except ValueError:
        raise InvalidLocalTime("Enter the date as year-month-day, for example 2024-11-18.") from None
    try:
        local_time = time.fromisoformat(clock.strip())
    except ValueError:
        raise InvalidLocalTime("Enter the time as hours:minutes on a 24-hour clock, for example 10:00.") from None
    return local_to_utc(datetime.combine(local_day, local_time.replace(second=0, microsecond=0)), zone_name)


def local_to_utc(naive_local: datetime, zone_name: str = DEFAULT_ZONE) -> datetime:
    tz = zone(zone_name)
    first = naive_local.replace(tzinfo=tz, fold=0)
    second = naive_local.replace(tzinfo=tz, fold=1)
    shown = f"{format_clock(naive_local)} on {naive_local:%A} {naive_local.day} {naive_local:%B %Y}"
    if first.utcoffset() != second.utcoffset():
        # Round-tripping tells a gap (the time never shows on a clock) from a fold.
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive_local:
            raise InvalidLocalTime(
                f"{shown} does not exist in {zone_label(zone_name)}: the clocks go forward then. "
                "Choose a time outside the missing hour."
            )
        raise InvalidLocalTime(
            f"{shown} happens twice in {zone_label(zone_name)}: the clocks go back then. "
            "Choose a time outside the repeated hour."
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
    """"10am on Monday 18 November 2024 (UK time)"."""
    local = ensure_aware_utc(instant).astimezone(zone(zone_name))
    return f"{format_clock(local)} on {local:%A} {local.day} {local:%B %Y} ({zone_label(zone_name)})"


def format_date(instant: datetime, zone_name: str = DEFAULT_ZONE) -> str:
    local = ensure_aware_utc(instant).astimezone(zone(zone_name))
    return f"{local:%A} {local.day} {local:%B %Y}"


def to_local_inputs(instant: datetime, zone_name: str = DEFAULT_ZONE) -> tuple[str, str]:
    """The (date, time) strings a form shows for an instant, in the round's zone."""
    local = ensure_aware_utc(instant).astimezone(zone(zone_name))
    return local.date().isoformat(), f"{local:%H:%M}"


def describe_remaining(deadline: datetime, now: datetime) -> str:
    """"3 days 4 hours left", "45 minutes left", "closed"."""
    left = ensure_aware_utc(deadline) - ensure_aware_utc(now)
    if left <= timedelta(0):
        return "closed"
    minutes = int(left.total_seconds() // 60)
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
        return "less than a minute left"
    return " ".join(parts) + " left"
