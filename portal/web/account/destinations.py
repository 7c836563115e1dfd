"""Where a person goes after registering, confirming their address or signing in.

`next` is where they were going (a seat's application, say). It is only ever a local
path (never another site, never the admin side: an open redirect would help phishing),
and a `next` that arrives in a mailed link must carry the portal's signature
(`portal.domain.accounts.links.next_signature`), so a link leads only where the portal
sent it. Without one, a panel member with a round under way lands on /panel.
"""

from __future__ import annotations

from litestar import Request

from portal.domain.accounts.links import is_signed_next
from portal.domain.panels.declarations import member_rounds
from portal.web.common import settings_of

HOME = "/account/profile"
MAX_NEXT = 500


def is_local_path(target: str) -> bool:
    return (
        target.startswith("/")
        and not target.startswith(("//", "/admin", "/account/sign-out"))
        and "\\" not in target
        and len(target) <= MAX_NEXT
        and target.isprintable()
        and " " not in target
    )


def local_or_empty(target: str) -> str:
    """A `next` to carry along (into a form or a mail), or nothing."""
    return target if is_local_path(target or "") else ""


def signed_destination(request: Request, target: str, signature: str) -> str:
    """A mailed link's `next`, if the portal signed it and it is a local path."""
    secret = settings_of(request).secret_key
    if is_local_path(target or "") and is_signed_next(secret, target, signature):
        return target
    return ""


async def landing(user_id: int, target: str) -> str:
    """Where a person goes after signing in: where they were going, else /panel for a
    panel member with a round still under way, else their profile."""
    if is_local_path(target or ""):
        return target
    rounds = await member_rounds(user_id)
    if any(r["stage"] != "archived" for r in rounds):
        return "/panel"
    return HOME
