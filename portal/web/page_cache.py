"""The public page cache: Litestar's response cache, made safe to share between visitors.

Litestar's cache middleware stores the ASGI messages of the first response, but it
encodes them only after they have gone out through the outer layers, and those
layers change the headers in place: the session middleware adds the first visitor's
`Set-Cookie: portal_session=...` (a signed-in admin's session, handed to everyone
after them), the security hook adds `Cache-Control: no-store` and a request id. So
the store is wrapped: before a response is kept, every header except the few that
describe the page itself is dropped. The outer layers add theirs again for each
visitor, since they run on cached responses too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from litestar.config.response_cache import ResponseCacheConfig
from litestar.stores.base import Store
from msgspec import msgpack

from portal.settings import Settings
from portal.web.common import PUBLIC_CACHE_STORE

if TYPE_CHECKING:
    from litestar import Litestar, Request
    from litestar.types import HTTPScope

# Headers a cached page may carry; anything else (cookies above all) belongs to one visitor.
SHAREABLE_HEADERS = frozenset({b"content-type", b"content-length", b"content-disposition"})


def shareable_messages(value: bytes) -> bytes:
    messages: list[dict[str, Any]] = msgpack.decode(value)
    for message in messages:
        if message.get("type") == "http.response.start":
            message["headers"] = [
                (name, content)
                for name, content in message.get("headers", [])
                if bytes(name).lower() in SHAREABLE_HEADERS
            ]
    return msgpack.encode(messages)


class ShareableResponseStore(Store):
    """Wraps the "response_cache" store; responses lose their per-visitor headers on the way in."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        raw = value.encode() if isinstance(value, str) else value
        await self.inner.set(key, shareable_messages(raw), expires_in=expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await self.inner.get(key, renew_for=renew_for)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def delete_all(self) -> None:
        await self.inner.delete_all()

    async def exists(self, key: str) -> bool:
        return await self.inner.exists(key)

    async def expires_in(self, key: str) -> int | None:
        return await self.inner.expires_in(key)


@dataclass
class PublicCacheConfig(ResponseCacheConfig):
    def get_store_from_app(self, app: Litestar) -> Store:
        return ShareableResponseStore(app.stores.get(self.store))


def public_cache_config(settings: Settings) -> ResponseCacheConfig:
    """The cache for handlers marked `cache=True` (only the public pages are)."""
    seconds = settings.public_cache_seconds

    def cache_ok_responses(_: HTTPScope, status_code: int) -> bool:
        # 0 turns caching off; only plain successes are kept (never errors or redirects).
        return seconds > 0 and status_code == 200

    return PublicCacheConfig(
        default_expiration=max(seconds, 1),  # None would mean "forever"
        store=PUBLIC_CACHE_STORE,
        key_builder=path_key,
        cache_response_filter=cache_ok_responses,
    )


def path_key(request: Request) -> str:
    # Public pages take no query parameters: ignoring them stops `/?x=1`, `/?x=2`...
    # from filling the cache with copies of one page.
    return f"public:{request.method}:{request.url.path}"
