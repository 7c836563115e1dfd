"""The applicant audience under /account: getting in (public) and the profile (guarded).

Guarded pages sit behind `requires_applicant`, set once here. Nothing under
/account may be cached: pages carry tokens, the profile or the nonce cookie.
"""

from litestar import Router
from litestar.datastructures import CacheControlHeader

from portal.web.account import access, profile
from portal.web.auth import requires_applicant

router = Router(
    path="/account",
    route_handlers=[
        *access.public_controllers,
        Router(path="/", guards=[requires_applicant], route_handlers=[*profile.controllers]),
    ],
    include_in_schema=False,
    cache_control=CacheControlHeader(no_store=True),
)
