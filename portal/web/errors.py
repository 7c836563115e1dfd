"""One place that maps errors to responses: pages for people, problem details for the API.

Headers an exception carries (Retry-After and the RateLimit-* headers on a 429,
WWW-Authenticate on a 401) are passed on; Litestar's default HTML handling drops them.
Unhandled errors are logged with the request id and shown as a 500 page with that
id, never a stack trace.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template

from portal.db import is_integrity_error
from portal.domain.errors import DomainError, ValidationErrors
from portal.web.security import request_id

log = logging.getLogger("portal.errors")

API_PREFIX = "/api/"

TITLES = {
    400: "Something in the request was not right",
    401: "Please sign in",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "That clashed with another change",
    413: "That upload or form is too large",
    429: "Too many attempts",
    500: "Sorry, something went wrong on our side",
}

MESSAGES = {
    400: "Check what you entered and try again.",
    401: "You need to sign in to see this page.",
    403: "Your account cannot use this page. If you think it should, ask an admin.",
    404: "If you typed the address, check it is right. If you followed a link, it may be out of date.",
    405: "Go back and use the page's own buttons.",
    413: "The most a form or upload can be is shown on the page you came from. Make it smaller and try again.",
    429: "Wait a little and try again. This limit protects accounts from guessing.",
    500: "Your change may not have been saved. Try again in a few minutes; if it keeps happening, tell us the reference below.",
}


# What an API client is told when Litestar's own message is only the status phrase.
API_DETAILS = {
    404: "There is nothing at this address: check the path, id or slug.",
    405: "This address does not accept that method.",
    413: "The request body is too large. Send at most 1 MB.",
}


# Litestar's own texts that mean nothing to a visitor ("no session data found" is
# what session auth says to anyone signed out).
LITESTAR_WORDING = frozenset({"no session data found", "No session data found"})


def _api_detail(status: int, detail: str | None) -> str:
    if (
        detail
        and detail != HTTPStatus(status).phrase
        and not detail.startswith(("Request Entity", "No route"))
    ):
        return detail
    return API_DETAILS.get(status, HTTPStatus(status).phrase)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _problem(
    request: Request, status: int, detail: str, headers: dict[str, str] | None, **extra: Any
) -> Response:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": request_id(request.scope),
        **extra,
    }
    return Response(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def _page(
    request: Request, status: int, message: str | None, headers: dict[str, str] | None
) -> Response:
    context = {
        "status": status,
        "title": TITLES.get(status, HTTPStatus(status).phrase),
        "message": message or MESSAGES.get(status, ""),
        "request_id": request_id(request.scope),
        "next": request.url.path if status == 401 else None,
    }
    return Template(
        template_name="errors/error.html",
        context=context,
        status_code=status,
        headers=headers,
        media_type=MediaType.HTML,
    )


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if isinstance(exc, ValidationException):
        invalid = "Some of what was sent is missing or not in the expected form."
        if _wants_json(request):
            errors = _safe_errors(exc.extra)
            if errors:  # msgspec stops at the first problem; say it where a client looks first
                invalid += f" {errors[0]['key'] or 'The body'}: {errors[0]['message']}"
            return _problem(request, status, invalid, headers, errors=errors)
        return _page(request, status, invalid + " Go back, check the form and try again.", headers)
    # Only our own messages are shown; Litestar's internal ones stay generic.
    detail = exc.detail if status in (400, 401, 403, 404, 409, 413, 429) else None
    if detail in LITESTAR_WORDING:
        detail = None
    if _wants_json(request):
        return _problem(request, status, _api_detail(status, detail), headers)
    shown = (
        detail
        if detail
        and detail != HTTPStatus(status).phrase
        and not detail.startswith(("Request Entity", "Not Found", "Missing", "No route"))
        else None
    )
    return _page(request, status, shown, headers)


def domain_error_handler(request: Request, exc: DomainError) -> Response:
    if _wants_json(request):
        extra: dict[str, Any] = {}
        if isinstance(exc, ValidationErrors):
            extra["errors"] = [
                {"key": key, "message": message} for key, message in exc.errors.items()
            ]
        elif exc.field:
            extra["errors"] = [{"key": exc.field, "message": exc.message}]
        if exc.field:
            extra["field"] = exc.field
        return _problem(request, exc.status_code, exc.message, None, **extra)
    return _page(request, exc.status_code, exc.message, None)


def undecodable_body_handler(request: Request, exc: UnicodeDecodeError) -> Response:
    # Litestar's JSON decoding lets a body that is not UTF-8 escape as UnicodeDecodeError (a 500).
    detail = "The request body is not valid UTF-8 text."
    if _wants_json(request):
        return _problem(request, 400, detail, None)
    return _page(request, 400, detail + " Go back, check what you entered and try again.", None)


CLASH_MESSAGE = (
    "Someone else made a clashing change at the same moment. Reload the page and try again."
)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    rid = request_id(request.scope)
    if is_integrity_error(exc):
        # Two writers raced past a check (two admins taking one slug at once): the
        # database's unique constraint decided; nothing half-done was kept.
        log.warning(
            "integrity conflict [request %s] %s %s: %s", rid, request.method, request.url.path, exc
        )
        if _wants_json(request):
            return _problem(request, 409, CLASH_MESSAGE, None)
        return _page(request, 409, CLASH_MESSAGE, None)
    log.error(
        "unhandled error [request %s] %s %s", rid, request.method, request.url.path, exc_info=exc
    )
    if _wants_json(request):
        return _problem(request, 500, "An internal error occurred.", None)
    return _page(request, 500, None, None)


_MISSING_FIELD = re.compile(r"^Object missing required field `([^`]{1,100})`")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `([^`]{1,100})`")


def _safe_errors(extra: Any) -> list[dict[str, str]]:
    """Litestar's validation errors as {key, message}, keyed by the field a client sent.

    msgspec reports a missing field against the enclosing object ("data", "criteria[0]"),
    and an empty body as a bare KeyError; both are rewritten so the key names the field.
    """
    out = []
    for item in extra or []:
        if not isinstance(item, dict):
            continue
        key, message = str(item.get("key", "")), str(item.get("message", ""))[:200]
        if item.get("source") == "body":
            parent = "" if key == "data" else key
            missing = _MISSING_FIELD.match(message)
            if missing:
                key, message = (
                    ".".join(p for p in (parent, missing.group(1)) if p),
                    "This field is required.",
                )
            elif unknown := _UNKNOWN_FIELD.match(message):
                key, message = (
                    ".".join(p for p in (parent, unknown.group(1)) if p),
                    "This field is not allowed here.",
                )
            elif message == repr(key):
                key, message = "", "Send a JSON object as the request body."
            else:
                key = parent
        out.append({"key": key, "message": message})
    return out


EXCEPTION_HANDLERS = {
    HTTPException: http_exception_handler,
    DomainError: domain_error_handler,
    UnicodeDecodeError: undecodable_body_handler,
    Exception: internal_error_handler,
}
