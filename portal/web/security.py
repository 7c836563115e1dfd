"""Headers every response carries, and the request id that ties a page to its log line.

This runs as an app-level `before_send` hook rather than a middleware: Litestar
builds middleware per route, so a middleware would miss 404s for unknown paths.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from portal.settings import Settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# The OpenAPI viewer loads its script from a CDN; only those pages get this policy.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://cdn.redoc.ly; "
    "worker-src blob:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS_PREFIX = "/api/v1/docs"
SIGNED_IN_PREFIXES = ("/admin",)
SESSION_COOKIE = "portal_session"


def request_id(scope: Scope | Any) -> str:
    """The id of this request: made once, shown on the 500 page and in the log."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = secrets.token_hex(8)
    return state["request_id"]


def security_headers_hook(settings: Settings):
    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        path: str = scope.get("path", "")
        headers["Content-Security-Policy"] = DOCS_CSP if path.startswith(DOCS_PREFIX) else CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = (
            "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        )
        headers["X-Request-ID"] = request_id(scope)
        if settings.is_production:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        signed_in = SESSION_COOKIE.encode() + b"=" in b";".join(
            v for k, v in scope.get("headers", []) if k == b"cookie"
        )
        if path.startswith(SIGNED_IN_PREFIXES) or signed_in:
            headers["Cache-Control"] = "no-store"

    return before_send
