"""The JSON API under /api/v1: public reads, and admin writes behind a bearer token.

The token guard sits on the write router once, not on each handler. Errors are
problem details (portal.web.errors). OpenAPI: /api/v1/docs and /api/v1/docs/openapi.json.
"""

from litestar import Router

from portal.web.api.auth import OPENAPI_COMPONENTS, SECURITY, requires_api_admin
from portal.web.api.rounds import AdminRoundController, PublicRoundController
from portal.web.api.seats import AdminSeatController, PublicSeatController

# JSON bodies are small; the 413 problem (portal.web.errors) states this limit.
MAX_BODY_BYTES = 1_000_000

router = Router(
    path="/api/v1",
    route_handlers=[
        PublicSeatController,
        PublicRoundController,
        Router(
            path="/",
            guards=[requires_api_admin],
            security=SECURITY,
            route_handlers=[AdminSeatController, AdminRoundController],
        ),
    ],
    request_max_body_size=MAX_BODY_BYTES,
)

__all__ = ["OPENAPI_COMPONENTS", "router"]
