"""create_app(settings): wiring only. Rules live in `portal.domain`, pages in `portal.web`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.logging.config import LoggingConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.file import FileStore
from litestar.stores.memory import MemoryStore
from litestar.stores.registry import StoreRegistry

from portal import db
from portal.domain.accounts.credentials import use_cheap_hashing
from portal.settings import PROJECT_ROOT, Settings
from portal.web import account, admin, api, documents, health, public
from portal.web.apply import router as apply_router
from portal.web.auth import session_auth
from portal.web.errors import EXCEPTION_HANDLERS
from portal.web.page_cache import public_cache_config
from portal.web.panel import router as panel_router
from portal.web.reminders import controllers as reminder_controllers
from portal.web.security import security_headers_hook
from portal.web.templating import template_config

log = logging.getLogger("portal")

MAX_FORM_BYTES = 1_000_000  # forms; upload handlers set their own cap


def build_stores(settings: Settings) -> StoreRegistry:
    """Sessions, rate limits and the page cache: Redis when configured, so every web
    process shares them; otherwise files (sessions survive a restart) and memory."""
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        root = RedisStore.with_client(url=settings.redis_url, namespace="portal")
        stores: dict[str, Store] = {
            name: root.with_namespace(name) for name in ("sessions", "rate_limit", "response_cache")
        }
    else:
        stores = {
            "sessions": FileStore(settings.var_dir / "sessions", create_directories=True),
            "rate_limit": MemoryStore(),
            "response_cache": MemoryStore(),
        }
    # An unregistered name must fail loudly, not become a per-process memory store.
    return StoreRegistry(stores=stores, default_factory=_no_such_store)


def _no_such_store(name: str) -> Store:
    raise LookupError(f"store {name!r} is not configured")


def create_app(settings: Settings | None = None) -> Litestar:
    settings = (settings or Settings.from_env()).with_secret()
    settings.check()
    if settings.env == "test":
        use_cheap_hashing()  # the suite's own servers sign in hundreds of times
    engine = db.bind(db.engine_for(settings))

    from workers import context

    context.configure(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.prepare_sqlite(engine)
        from workers.embedded import EmbeddedRuntime

        # The embedded worker runs actors on its own event loop: no pool with it.
        pooled = not settings.embedded_worker and await db.open_pool(engine, settings.database_pool)
        runtime = EmbeddedRuntime(settings)
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()
            if pooled:
                await db.close_pool(engine)

    auth = session_auth(settings)
    app = Litestar(
        route_handlers=[
            health.router,
            documents.router(settings),
            public.router,
            admin.router,
            account.router,
            apply_router,
            panel_router,
            *reminder_controllers,
            api.router,
            create_static_files_router(
                path="/static",
                directories=[PROJECT_ROOT / "portal" / "static"],
                include_in_schema=False,
            ),
        ],
        lifespan=[lifespan],
        template_config=template_config(settings),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="portal_csrf",
            cookie_secure=settings.secure_cookies,
            cookie_httponly=True,
            cookie_samesite="lax",
            # The API authenticates with bearer tokens, never cookies. A reminder's
            # opt-out link carries its own credential, and a mail client's one-click
            # POST (RFC 8058) has no CSRF token.
            exclude=["^/api/", "^/reminders/unsubscribe/"],
        ),
        on_app_init=[auth.on_app_init],
        stores=build_stores(settings),
        response_cache_config=public_cache_config(settings),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_send=[security_headers_hook(settings)],
        openapi_config=OpenAPIConfig(
            title="Seat portal API",
            version="1.0.0",
            path="/api/v1/docs",
            render_plugins=[RedocRenderPlugin(), JsonRenderPlugin()],
            components=api.OPENAPI_COMPONENTS,  # the API's bearer-token scheme
        ),
        request_max_body_size=MAX_FORM_BYTES,
        logging_config=LoggingConfig(log_exceptions="never", configure_root_logger=False),
        debug=False,
        state={"settings": settings},
    )
    return app
