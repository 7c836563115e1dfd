"""Domain errors carry a message that is safe to show to the person who caused them.

The web layer maps them to pages and problem details in one place
(`portal.web.errors`).
"""


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
