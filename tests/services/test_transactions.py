"""`write_transaction()`: IMMEDIATE on SQLite so racing read-then-write transactions
queue instead of failing with "database is locked"; a plain transaction on PostgreSQL.
Aware UTC instants survive a round trip through either engine unchanged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from piccolo.engine.sqlite import SQLiteEngine

from portal import db
from portal.tables import AuditEvent, Seat

pytestmark = pytest.mark.services


async def _read_then_write(n: int, pause: float) -> int:
    """The shape of every form post: read something, think, write based on it."""
    async with db.write_transaction():
        seen = await Seat.count()
        await asyncio.sleep(pause)  # hold the transaction open so the others overlap
        await Seat.insert(Seat(slug=f"seat-{n}", title=f"Seat {n}", summary=f"saw {seen}"))
        return seen


async def _race(count: int, pause: float) -> list[int | BaseException]:
    return await asyncio.gather(
        *(_read_then_write(n, pause) for n in range(count)), return_exceptions=True
    )


def _failures(results: list[int | BaseException]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]


def test_two_concurrent_read_then_write_transactions_both_succeed(engine):
    results = asyncio.run(_race(2, pause=0.1))

    assert _failures(results) == []
    assert asyncio.run(Seat.count().run()) == 2


def test_thirty_concurrent_read_then_write_transactions_all_succeed(engine):
    results = asyncio.run(_race(30, pause=0.01))

    assert _failures(results) == []
    assert asyncio.run(Seat.count().run()) == 30
    if isinstance(engine, SQLiteEngine):
        # IMMEDIATE serialises them: each saw exactly the rows committed before it.
        assert sorted(results) == list(range(30))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_deferred_sqlite_transactions_would_collide(engine):
    """Why the helper exists: the same race with SQLite's default transactions fails."""

    async def deferred(n: int) -> None:
        async with engine.transaction():
            await Seat.count()
            await asyncio.sleep(0.2)
            await Seat.insert(Seat(slug=f"deferred-{n}", title="x"))

    async def race() -> list[object]:
        return await asyncio.gather(*(deferred(n) for n in range(5)), return_exceptions=True)

    results = asyncio.run(race())

    assert any("locked" in str(r) for r in results if isinstance(r, BaseException)), results


def test_write_transaction_rolls_back_on_error(engine):
    async def failing() -> None:
        async with db.write_transaction():
            await Seat.insert(Seat(slug="half-done", title="Half done"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        asyncio.run(failing())

    assert asyncio.run(Seat.count().run()) == 0


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2024, 11, 18, 10, 0, tzinfo=UTC),
        datetime(2024, 3, 31, 0, 59, 59, 999_999, tzinfo=UTC),  # just before the UK spring change
        datetime(2024, 10, 27, 1, 30, 0, 123_456, tzinfo=UTC),  # inside the UK autumn repeat hour
    ],
    ids=["plain", "before-spring-change", "autumn-repeat-hour"],
)
def test_aware_utc_instant_round_trips_unchanged(engine, instant):
    async def write_and_read() -> tuple[datetime, int]:
        async with db.write_transaction():
            await AuditEvent.insert(AuditEvent(at=instant, action="test.time", subject_type="test"))
        row = await AuditEvent.select(AuditEvent.at).first()
        # The instant also compares correctly inside SQL, not only in Python.
        matches = await AuditEvent.count().where(
            (AuditEvent.at > instant - timedelta(seconds=1))
            & (AuditEvent.at < instant + timedelta(seconds=1))
        )
        return row["at"], matches

    read_back, matches = asyncio.run(write_and_read())

    assert read_back == instant
    assert read_back.utcoffset() == timedelta(0)
    assert matches == 1
