"""The panel audience under /panel: members and chairs of a round's panel.

Any signed-in account may reach these routes; what it sees is decided in
`portal.domain.panels.access` (404 for anything not its own). Accepting an
invitation is public (the link is the credential). Nothing here may be cached.

Each module lists its `controllers` (signed in) and `public_controllers`.
"""

from litestar import Router
from litestar.datastructures import CacheControlHeader

from portal.web.auth import requires_signed_in
from portal.web.panel import conflicts, membership, moderation, pack, scoring

_modules: tuple = (membership, conflicts, scoring, pack, moderation)

router = Router(
    path="/panel",
    route_handlers=[
        *(c for m in _modules for c in getattr(m, "public_controllers", [])),
        Router(
            path="/",
            guards=[requires_signed_in],
            route_handlers=[c for m in _modules for c in m.controllers],
        ),
    ],
    include_in_schema=False,
    cache_control=CacheControlHeader(no_store=True),
    # A member who must declare first is sent to the declarations page (NotReady).
    exception_handlers={
        k: v for m in _modules for k, v in getattr(m, "exception_handlers", {}).items()
    },
)
