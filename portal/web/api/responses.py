"""The problem-details responses each kind of API route can give, for the OpenAPI schema."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from portal.web.api.schemas import Problem


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem, description=description, media_type="application/problem+json"
    )


NOT_FOUND = {404: _problem("No such record, or not published.")}
WRITE = {
    400: _problem(
        "The body is malformed, or a field is missing, of the wrong type, too long or not allowed."
    ),
    401: _problem("No admin token, or it is not valid or has been revoked."),
    403: _problem("The token's account is not an admin."),
    404: _problem("No such record."),
    409: _problem(
        "The change clashes with the record's state (e.g. the round has already closed)."
    ),
    413: _problem("The body is larger than 1 MB."),
}
