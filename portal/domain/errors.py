"""Domain errors carry a message that is safe to show to the person who caused them.

The web layer maps them to pages and problem details in one place
(`portal.web.errors`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Something the user asked for cannot be done; `str(err)` says why, politely."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Forbidden(DomainError):
    status_code = 403


@dataclass(eq=False)  # eq would make the exception unhashable
class ValidationErrors(DomainError):
    """Several field errors at once, for a form's error summary."""

    errors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        first = next(iter(self.errors.values()), "Check the form.")
        super().__init__(first, field=next(iter(self.errors), None))


# Ids are 32-bit serials: a larger number in a URL is simply not a record, and
# passing it to the database would overflow (sqlite3 OverflowError, asyncpg DataError).
MAX_RECORD_ID = 2**31 - 1


def ensure_record_id(value: int, message: str) -> int:
    """Refuse an id that cannot exist with NotFound(message), before any query."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_RECORD_ID:
        raise NotFound(message)
    return value
