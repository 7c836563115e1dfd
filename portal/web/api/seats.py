"""Seats over the API: public reads of published seats, admin writes behind a token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.audit import Actor
from portal.domain.errors import ValidationErrors, ensure_record_id
from portal.domain.rounds.phase import RoundPhase
from portal.domain.seats.editing import (
    SeatInput,
    clean_seat,
    create_seat,
    get_seat,
    set_published,
    update_seat,
)
from portal.domain.seats.parts import (
    CriterionInput,
    QuestionInput,
    add_criterion,
    add_question,
    clean_criterion,
    clean_question,
)
from portal.domain.seats.queries import (
    published_seat_with_parts,
    published_seats_with_rounds,
    seat_with_parts,
)
from portal.web.api import responses
from portal.web.api.present import seat_out, seat_summary
from portal.web.api.schemas import (
    CriterionIn,
    QuestionIn,
    SeatCreate,
    SeatIn,
    SeatOut,
    SeatPatch,
    SeatSummary,
)
from portal.web.common import actor_of, clear_public_cache, settings_of

NO_SEAT = "There is no such seat."

# One admin change to a seat: (actor, now) -> the domain call's coroutine.
SeatChange = Callable[[Actor, datetime], Awaitable[Any]]


async def _changed_seat(request: Request, seat_id: int, change: SeatChange) -> SeatOut:
    """Run one change in a write transaction (audited as the token's owner), then answer
    with the seat as it now is; the public pages' cache is cleared after the commit."""
    ensure_record_id(seat_id, NO_SEAT)
    async with write_transaction():
        now = await database_now()
        await change(actor_of(request), now)
        seat = await seat_with_parts(seat_id)
    await clear_public_cache(request)
    return seat_out(seat, now, _base_url(request))


def _seat_input(data: SeatIn) -> SeatInput:
    return SeatInput(**{name: getattr(data, name) for name in SeatInput.__dataclass_fields__})


def _criterion_input(data: CriterionIn) -> CriterionInput:
    return CriterionInput(title=data.title, guidance=data.guidance, weight=data.weight)


def _question_input(data: QuestionIn) -> QuestionInput:
    return QuestionInput(prompt=data.prompt, word_limit=data.word_limit, required=data.required)


def _ensure_all_valid(data: SeatCreate) -> None:
    """Every field error of the seat and its parts at once, keyed as the client sent them,
    before anything is written."""
    errors: dict[str, str] = {}

    def collect(check: Callable[..., object], *args: Any) -> None:
        try:
            check(*args)
        except ValidationErrors as exc:
            errors.update(exc.errors)

    collect(clean_seat, _seat_input(data))
    for i, criterion in enumerate(data.criteria):
        collect(clean_criterion, _criterion_input(criterion), f"criteria[{i}].")
    for i, question in enumerate(data.questions):
        collect(clean_question, _question_input(question), f"questions[{i}].")
    if errors:
        raise ValidationErrors(errors=errors)


def _base_url(request: Request) -> str:
    return settings_of(request).base_url.rstrip("/")


def _list_key(request: Request) -> str:
    # Only `phase` changes the answer; other query parameters must not mint new cache
    # entries. The last value is the one the handler sees; an invalid one gets a 400,
    # which is never cached.
    phase = request.query_params.getall("phase", [])
    return f"public:GET:{request.url.path}?" + (f"phase={phase[-1][:20]}" if phase else "")


class PublicSeatController(Controller):
    """Cached like the public pages (PORTAL_PUBLIC_CACHE_SECONDS); every write clears it."""

    path = "/seats"
    tags = ["Seats"]

    @get(
        "/",
        cache=True,
        cache_key_builder=_list_key,
        operation_id="listSeats",
        summary="List published seats",
        description="Each with the round a visitor cares about: the open one, else the next to open, else the last closed.",
    )
    async def list_seats(
        self, request: Request, phase: FromQuery[RoundPhase | None] = None
    ) -> list[SeatSummary]:
        async with read_transaction():
            now = await database_now()
            seats = await published_seats_with_rounds()
        listed = [seat_summary(seat, now, _base_url(request)) for seat in seats]
        return [s for s in listed if phase is None or s.phase is phase]

    @get(
        "/{slug:str}",
        cache=True,
        operation_id="getSeat",
        summary="A published seat",
        responses=responses.NOT_FOUND,
    )
    async def seat(self, request: Request, slug: FromPath[str]) -> SeatOut:
        async with read_transaction():
            now = await database_now()
            seat = await published_seat_with_parts(slug)
        return seat_out(seat, now, _base_url(request))


class AdminSeatController(Controller):
    """Every write: one transaction, audited as the token's owner, public cache cleared after."""

    path = "/seats"
    tags = ["Seats (admin)"]

    @post(
        "/",
        operation_id="createSeat",
        summary="Create a seat",
        description="Unpublished unless `published` is true.",
        responses=responses.WRITE,
    )
    async def create(self, request: Request, data: JSONBody[SeatCreate]) -> SeatOut:
        _ensure_all_valid(data)
        async with write_transaction():
            now, actor = await database_now(), actor_of(request)
            seat_id = await create_seat(_seat_input(data), actor, now)
            for criterion in data.criteria:
                await add_criterion(seat_id, _criterion_input(criterion), actor, now)
            for question in data.questions:
                await add_question(seat_id, _question_input(question), actor, now)
            if data.published:
                await set_published(seat_id, True, actor, now)
            seat = await seat_with_parts(seat_id)
        await clear_public_cache(request)
        return seat_out(seat, now, _base_url(request))

    @put(
        "/{seat_id:int}",
        operation_id="replaceSeat",
        summary="Replace a seat's text",
        description="Fields left out become empty; an empty slug keeps the current one.",
        responses=responses.WRITE,
    )
    async def replace(
        self, request: Request, seat_id: FromPath[int], data: JSONBody[SeatIn]
    ) -> SeatOut:

        async def replace(actor: Actor, now: datetime) -> None:
            values = _seat_input(data)
            values.slug = values.slug or (await get_seat(seat_id))["slug"]
            await update_seat(seat_id, values, actor, now)

        return await _changed_seat(request, seat_id, replace)

    @patch(
        "/{seat_id:int}",
        operation_id="updateSeat",
        summary="Change some of a seat's text",
        responses=responses.WRITE,
    )
    async def change(
        self, request: Request, seat_id: FromPath[int], data: JSONBody[SeatPatch]
    ) -> SeatOut:

        async def change(actor: Actor, now: datetime) -> None:
            current = await get_seat(seat_id)
            values = SeatInput(**{name: current[name] for name in asdict(SeatInput())})
            for name in asdict(values):
                sent = getattr(data, name)
                if isinstance(sent, str):
                    setattr(values, name, sent)
            await update_seat(seat_id, values, actor, now)

        return await _changed_seat(request, seat_id, change)

    @post(
        "/{seat_id:int}/publish",
        status_code=200,
        operation_id="publishSeat",
        summary="Publish a seat",
        responses=responses.WRITE,
    )
    async def publish(self, request: Request, seat_id: FromPath[int]) -> SeatOut:
        return await self._set_published(request, seat_id, True)

    @post(
        "/{seat_id:int}/unpublish",
        status_code=200,
        operation_id="unpublishSeat",
        summary="Unpublish a seat",
        responses=responses.WRITE,
    )
    async def unpublish(self, request: Request, seat_id: FromPath[int]) -> SeatOut:
        return await self._set_published(request, seat_id, False)

    async def _set_published(self, request: Request, seat_id: int, published: bool) -> SeatOut:
        return await _changed_seat(
            request, seat_id, lambda actor, now: set_published(seat_id, published, actor, now)
        )

    @post(
        "/{seat_id:int}/criteria",
        operation_id="addCriterion",
        summary="Add a criterion",
        description="Refused (409) once a round of the seat has opened.",
        responses=responses.WRITE,
    )
    async def add_seat_criterion(
        self, request: Request, seat_id: FromPath[int], data: JSONBody[CriterionIn]
    ) -> SeatOut:
        criterion = _criterion_input(data)
        return await _changed_seat(
            request, seat_id, lambda actor, now: add_criterion(seat_id, criterion, actor, now)
        )

    @post(
        "/{seat_id:int}/questions",
        operation_id="addQuestion",
        summary="Add a question",
        description="Refused (409) once a round of the seat has opened.",
        responses=responses.WRITE,
    )
    async def add_seat_question(
        self, request: Request, seat_id: FromPath[int], data: JSONBody[QuestionIn]
    ) -> SeatOut:
        question = _question_input(data)
        return await _changed_seat(
            request, seat_id, lambda actor, now: add_question(seat_id, question, actor, now)
        )
