"""Round times as people enter them, and the one reading of them both entry paths share.

The admin form binds `RoundInput` and `ExtensionInput` directly; the API turns its JSON
into the same types. A time comes either as the wall clock in the round's zone (a date
and a time: what the form sends, and what API clients may send) or as an instant with
its offset (API clients only). `read_round_times` and `read_extension` check every rule
of the entry, so both paths refuse the same things with the same words.

Errors are keyed the API's way: "timezone", "opens", "opens.date", "opens.time",
"closes", "closes.date", "closes.time", "grace_minutes", "reason". The form files each
key under its own input (`form_field`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.errors import DomainError, ValidationErrors
from portal.domain.rounds.phase import MAX_GRACE_MINUTES
from portal.domain.timerules import (
    DEFAULT_ZONE,
    MAX_YEAR,
    MIN_YEAR,
    InvalidLocalTime,
    ensure_aware_utc,
    read_local,
    zone,
)

# The zones offered in the form; any zone `timerules.zone` knows is accepted.
ROUND_ZONES: tuple[str, ...] = ("Europe/London", "Europe/Dublin", "Europe/Brussels", "UTC")
DEFAULT_GRACE_MINUTES = 10
MAX_REASON = 2000
_LABELS = {"opens": "Opening time", "closes": "Closing time"}
_PART_LABELS = {"opens": "Opening", "closes": "Closing"}
_TICKED = {"1", "on", "true", "yes"}


@dataclass
class RoundInput:
    """A new round as entered. Unset times are empty; checkboxes arrive as text from a form."""

    timezone: str = DEFAULT_ZONE
    opens_date: str = ""
    opens_time: str = ""
    closes_date: str = ""
    closes_time: str = ""
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    grace_minutes: int | str = DEFAULT_GRACE_MINUTES
    anonymised: bool | str = False

    @classmethod
    def at(cls, opens_at: datetime, closes_at: datetime, **choices: Any) -> RoundInput:
        """Instants instead of wall-clock times (the API, demo data, tests); anonymised
        unless told otherwise, as on the form's first showing."""
        return cls(opens_at=opens_at, closes_at=closes_at, **{"anonymised": True, **choices})


@dataclass
class ExtensionInput:
    """A round-wide extension as entered: the new closing time and the reason for the record."""

    closes_date: str = ""
    closes_time: str = ""
    closes_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class RoundTimes:
    """A new round's entry, checked: what `create_round` stores."""

    timezone: str
    opens_at: datetime
    closes_at: datetime
    grace_minutes: int
    anonymised: bool


def is_ticked(value: bool | str | None) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in _TICKED


def form_field(key: str) -> str:
    """The form input an error key belongs beside ("closes" and "closes.date" -> closes_date)."""
    name, _, part = key.partition(".")
    if name in _LABELS:
        return f"{name}_{part or 'date'}"
    return key


def ensure_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give a reason: it is kept in the audit log.", field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    return reason


def _instant(
    name: str,
    day: str,
    clock: str,
    instant: datetime | None,
    zone_name: str,
    errors: dict[str, str],
) -> datetime | None:
    """One entered time as a UTC instant, or None with its error filed under `name`."""
    if instant is not None:
        if instant.tzinfo is None:
            errors[name] = (
                f"{_LABELS[name]}: give the offset from UTC, for example 2024-11-18T10:00:00Z."
            )
            return None
        # Checked before converting: near year 1 or 9999 a zone shift overflows.
        if not MIN_YEAR <= instant.year <= MAX_YEAR:
            errors[name] = f"{_LABELS[name]}: enter a year from {MIN_YEAR} to {MAX_YEAR}."
            return None
        return ensure_aware_utc(instant)
    return read_local(day, clock, zone_name, errors, label=_PART_LABELS[name], key=name, sep=".")


def _grace(value: int | str, errors: dict[str, str]) -> int:
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or len(text) > 4 or int(text) > MAX_GRACE_MINUTES:
        errors["grace_minutes"] = (
            f"Enter the grace period as a whole number of minutes from 0 to {MAX_GRACE_MINUTES}."
        )
        return DEFAULT_GRACE_MINUTES
    return int(text)


def _zone_name(value: str, errors: dict[str, str]) -> str:
    name = (value or "").strip()
    try:
        zone(name)
    except InvalidLocalTime as exc:
        errors["timezone"] = exc.message
        return ""
    return name


def read_round_times(data: RoundInput, now: datetime) -> RoundTimes:
    """Every rule of a new round's entry, all problems reported together."""
    errors: dict[str, str] = {}
    zone_name = _zone_name(data.timezone, errors)
    opens_at = closes_at = None
    if zone_name:
        opens_at = _instant(
            "opens", data.opens_date, data.opens_time, data.opens_at, zone_name, errors
        )
        closes_at = _instant(
            "closes", data.closes_date, data.closes_time, data.closes_at, zone_name, errors
        )
    grace = _grace(data.grace_minutes, errors)
    if opens_at and closes_at:
        if closes_at <= opens_at:
            errors["closes"] = "The closing time must be after the opening time."
        elif closes_at <= ensure_aware_utc(now):
            errors["closes"] = "The closing time must be in the future."
    if errors or opens_at is None or closes_at is None:
        raise ValidationErrors(errors=errors or {"opens": "Enter when the round opens and closes."})
    return RoundTimes(
        timezone=zone_name,
        opens_at=opens_at,
        closes_at=closes_at,
        grace_minutes=grace,
        anonymised=is_ticked(data.anonymised),
    )


def read_extension(
    data: ExtensionInput, zone_name: str, current_closes_at: datetime, now: datetime
) -> tuple[datetime, str]:
    """The new closing time (later than the current one, in the future) and the reason."""
    errors: dict[str, str] = {}
    closes_at = _instant(
        "closes", data.closes_date, data.closes_time, data.closes_at, zone_name, errors
    )
    reason = ""
    try:
        reason = ensure_reason(data.reason)
    except DomainError as exc:
        errors["reason"] = exc.message
    if closes_at is not None:
        if closes_at <= ensure_aware_utc(current_closes_at):
            errors["closes"] = "The new closing time must be later than the current one."
        elif closes_at <= ensure_aware_utc(now):
            errors["closes"] = "The new closing time must be in the future."
    if errors or closes_at is None:
        raise ValidationErrors(errors=errors)
    return closes_at, reason
