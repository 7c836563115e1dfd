"""The admin audience: every guarded route sits behind `requires_admin`, set once here.

Each module lists its `controllers` (guarded) and, where a page must be reachable
signed out (sign-in, accepting an invitation), its `public_controllers`.
"""

from litestar import Router
from litestar.datastructures import CacheControlHeader

from portal.web.admin import (
    applications,
    audit,
    outbox,
    outcomes,
    panels,
    people,
    rounds,
    seats,
    session,
    shortlist,
    tokens,
)
from portal.web.auth import requires_admin

_modules = (
    session,
    seats,
    rounds,
    applications,
    audit,
    outbox,
    people,
    tokens,
    panels,
    shortlist,
    outcomes,
)

router = Router(
    path="/admin",
    route_handlers=[
        *(c for m in _modules for c in getattr(m, "public_controllers", [])),
        Router(
            path="/",
            guards=[requires_admin],
            route_handlers=[c for m in _modules for c in m.controllers],
        ),
    ],
    include_in_schema=False,
    cache_control=CacheControlHeader(no_store=True),
)
