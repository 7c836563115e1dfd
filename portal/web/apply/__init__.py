"""The applicant's apply journey under /applications: start, fill in, review, submit,
receipt, withdraw, and "My applications".

Every page sits behind `requires_applicant`, set once here. Another applicant's
application is a 404 (the domain's NotFound), never a 403, so ids do not leak.
Nothing here may be cached: every page is one person's application.
"""

from litestar import Router
from litestar.datastructures import CacheControlHeader

from portal.web.apply import pages
from portal.web.auth import requires_applicant

router = Router(
    path="/applications",
    guards=[requires_applicant],
    route_handlers=[*pages.controllers],
    include_in_schema=False,
    cache_control=CacheControlHeader(no_store=True),
)
