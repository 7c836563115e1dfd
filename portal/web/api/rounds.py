"""Rounds over the API: a public read, and admin writes (create, open, close, extend).

A time is sent either as an instant with its offset ("2024-11-18T10:00:00Z") or as
the wall clock in the round's zone ({"date": "2024-11-18", "time": "10:00"}). Both
become the domain's `RoundInput` / `ExtensionInput`, the types the admin form binds,
and every rule is checked in `create_round` / `extend_round`: the API and the form
refuse the same things with the same words, naming the field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.audit import Actor
from portal.domain.errors import ensure_record_id
from portal.domain.rounds.entry import ExtensionInput, RoundInput
from portal.domain.rounds.phase import get_round
from portal.domain.rounds.times import close_round_now, create_round, extend_round, open_round_now
from portal.domain.seats.queries import published_round
from portal.mail.compose.applications import compose_round_extended
from portal.web.api import responses
from portal.web.api.present import API_PATH, round_out
from portal.web.api.schemas import (
    LocalTime,
    RoundCreate,
    RoundDetail,
    RoundExtend,
    RoundOut,
    TimeInput,
)
from portal.web.common import actor_of, clear_public_cache, settings_of
from workers.dispatch import write_then_send

NO_ROUND = "There is no such round."

# One admin change to a round: (actor, now) -> the domain call's coroutine, which may
# return outbox ids to send after commit.
RoundChange = Callable[[Actor, datetime], Awaitable[Any]]


async def _changed_round(request: Request, round_id: int, change: RoundChange) -> RoundOut:
    """Run one change in a write transaction (audited as the token's owner), send its mail
    after commit, clear the public pages' cache, and answer with the round as it now is."""
    ensure_record_id(round_id, NO_ROUND)
    async with write_then_send() as mail:
        now = await database_now()
        mail.send(await change(actor_of(request), now))
        row = await get_round(round_id)
    await clear_public_cache(request)
    return round_out(row, now, _base_url(request))


NO_SEAT = "There is no such seat."


def _time_entry(name: str, value: TimeInput) -> dict[str, Any]:
    """An API time as the domain's entry fields: the wall clock, or an instant."""
    if isinstance(value, LocalTime):
        return {f"{name}_date": value.date, f"{name}_time": value.time}
    return {f"{name}_at": value}


def _base_url(request: Request) -> str:
    return settings_of(request).base_url.rstrip("/")


class PublicRoundController(Controller):
    path = "/rounds"
    tags = ["Rounds"]

    @get(
        "/{round_id:int}",
        cache=True,
        operation_id="getRound",
        summary="A round of a published seat",
        responses=responses.NOT_FOUND,
    )
    async def round(self, request: Request, round_id: FromPath[int]) -> RoundDetail:
        async with read_transaction():
            now, base = await database_now(), _base_url(request)
            row = await published_round(round_id)
        out = round_out(row, now, base)
        return RoundDetail(
            **{f: getattr(out, f) for f in out.__struct_fields__},
            seat_slug=row["seat_slug"],
            seat_title=row["seat_title"],
            seat_url=f"{base}{API_PATH}/seats/{row['seat_slug']}",
        )


class AdminRoundController(Controller):
    """Every write: one transaction, audited as the token's owner, public cache cleared after."""

    path = "/"
    tags = ["Rounds (admin)"]

    @post(
        "/seats/{seat_id:int}/rounds",
        operation_id="createRound",
        summary="Create a round of a seat",
        responses=responses.WRITE,
    )
    async def create(
        self, request: Request, seat_id: FromPath[int], data: JSONBody[RoundCreate]
    ) -> RoundOut:
        entry = RoundInput(
            timezone=data.timezone,
            grace_minutes=data.grace_minutes,
            anonymised=data.anonymised,
            **_time_entry("opens", data.opens),
            **_time_entry("closes", data.closes),
        )
        async with write_transaction():
            now = await database_now()
            round_id = await create_round(seat_id, entry, actor_of(request), now)
            row = await get_round(round_id)
        await clear_public_cache(request)
        return round_out(row, now, _base_url(request))

    @post(
        "/rounds/{round_id:int}/open",
        status_code=200,
        operation_id="openRound",
        summary="Open a round now",
        description="Only an upcoming round; its opening time becomes now.",
        responses=responses.WRITE,
    )
    async def open_now(self, request: Request, round_id: FromPath[int]) -> RoundOut:
        return await _changed_round(
            request, round_id, lambda actor, now: open_round_now(round_id, actor, now)
        )

    @post(
        "/rounds/{round_id:int}/close",
        status_code=200,
        operation_id="closeRound",
        summary="Close a round now",
        description="Only an open round; its closing time becomes now.",
        responses=responses.WRITE,
    )
    async def close_now(self, request: Request, round_id: FromPath[int]) -> RoundOut:
        return await _changed_round(
            request, round_id, lambda actor, now: close_round_now(round_id, actor, now)
        )

    @post(
        "/rounds/{round_id:int}/extend",
        status_code=200,
        operation_id="extendRound",
        summary="Extend a round's closing time",
        description="Later only, with a reason for the audit log. A local time is read in the round's own zone.",
        responses=responses.WRITE,
    )
    async def extend(
        self, request: Request, round_id: FromPath[int], data: JSONBody[RoundExtend]
    ) -> RoundOut:
        entry = ExtensionInput(reason=data.reason, **_time_entry("closes", data.closes))
        compose = compose_round_extended(settings_of(request))
        return await _changed_round(
            request,
            round_id,
            lambda actor, now: extend_round(round_id, entry, actor, now, compose_mail=compose),
        )
