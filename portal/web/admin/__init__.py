"""The admin audience: every route here sits behind `requires_admin`, set once on the router."""

from litestar import Router
from litestar.datastructures import CacheControlHeader

from portal.web.admin import session
from portal.web.auth import requires_admin

router = Router(
    path="/admin",
    route_handlers=[session.SignInController, Router(path="/", guards=[requires_admin], route_handlers=[session.DashboardController])],
    include_in_schema=False,
    cache_control=CacheControlHeader(no_store=True),
)
