"""What every builder shares: the clock they default to, who the audit log says made the
data, and the two sync helpers tests use (`run`, `write`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from portal import db
from portal.domain.accounts.credentials import use_cheap_hashing
from portal.domain.audit import Actor
from portal.settings import Settings

T = TypeVar("T")

# The actor of data made by a builder when the caller names none.
BUILDER = Actor(None, "factories")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def instant(value: datetime | timedelta, at: datetime | None = None) -> datetime:
    """A time given as an instant, or as a timedelta from `at` (default: now)."""
    if isinstance(value, timedelta):
        return (at or now()) + value
    return value


def connect(settings: Settings | None = None) -> Settings:
    """For a seed in a process of its own: point the tables at the database of `settings`
    (default: from the environment) and, under PORTAL_ENV=test, hash as the app does."""
    settings = settings or Settings.from_env()
    db.bind(db.engine_for(settings))
    if settings.env == "test":
        use_cheap_hashing()
    return settings


def run(awaitable: Awaitable[T]) -> T:
    """Run a coroutine or a Piccolo query from sync code and return its result, on a
    fresh event loop (a test client's app runs in a loop of its own)."""

    async def wait() -> T:
        return await awaitable

    return asyncio.run(wait())


async def in_write_transaction(fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """`await fn(*args, **kwargs)` inside `db.write_transaction()`: what `write` runs, for
    tests that start several at once (`asyncio.gather`)."""
    async with db.write_transaction():
        return await fn(*args, **kwargs)


def write(fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """`await fn(*args, **kwargs)` inside `db.write_transaction()`, committed, as a
    controller would: `write(withdraw_application, app_id, user_id, now())`, or
    `write(lambda: Seat.update(...).where(...))` for a query."""
    return run(in_write_transaction(fn, *args, **kwargs))
