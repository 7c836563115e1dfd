"""Admin pages for seats: the list, create and edit, publish, criteria and questions.

Each write parses the form, calls one domain function inside a write transaction,
and on a refusal re-renders the same form with what was entered and the reasons
(400, or 409 when the criteria are locked). Unknown ids raise NotFound, which the
error handlers turn into the 404 page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.errors import DomainError, NotFound
from portal.domain.seats.editing import (
    SUMMARY_MAX,
    TEXT_MAX,
    TITLE_MAX,
    SeatInput,
    get_seat,
    set_published,
    update_seat,
)
from portal.domain.seats.editing import create_seat as create_seat_record
from portal.domain.seats.parts import (
    MAX_WEIGHT,
    MAX_WORD_LIMIT,
    CriterionInput,
    QuestionInput,
    add_criterion,
    add_question,
    remove_criterion,
    remove_question,
    update_criterion,
    update_question,
)
from portal.domain.seats.queries import seat_detail, seat_overview
from portal.tables import Criterion, Question
from portal.web.common import actor_of, checkbox, clear_public_cache, form_errors

# Shown after a redirect; only these fixed texts, never anything from the address.
NOTICES = {
    "created": "The seat was created. It is not published yet.",
    "saved": "Your changes were saved.",
    "published": "The seat is published: it appears on the public pages when it has a round.",
    "unpublished": "The seat is unpublished: the public pages no longer show it.",
    "criterion-added": "The criterion was added.",
    "criterion-saved": "The criterion was saved.",
    "criterion-removed": "The criterion was removed.",
    "question-added": "The question was added.",
    "question-saved": "The question was saved.",
    "question-removed": "The question was removed.",
}

LIMITS = {
    "title": TITLE_MAX,
    "summary": SUMMARY_MAX,
    "text": TEXT_MAX,
    "weight": MAX_WEIGHT,
    "word_limit": MAX_WORD_LIMIT,
}


@dataclass
class CriterionForm:
    """Field names carry a prefix so the add forms on the seat page have unique ids."""

    criterion_title: str = ""
    criterion_guidance: str = ""
    criterion_weight: str = "1"

    def to_input(self) -> CriterionInput:
        return CriterionInput(
            title=self.criterion_title,
            guidance=self.criterion_guidance,
            weight=self.criterion_weight,
        )

    @classmethod
    def of(cls, row: dict[str, Any]) -> CriterionForm:
        return cls(row["title"], row["guidance"], str(row["weight"]))


@dataclass
class QuestionForm:
    question_prompt: str = ""
    question_word_limit: str = "300"
    question_required: str = ""  # a checkbox: absent when unticked

    def to_input(self) -> QuestionInput:
        return QuestionInput(
            prompt=self.question_prompt,
            word_limit=self.question_word_limit,
            required=checkbox(self.question_required),
        )

    @classmethod
    def of(cls, row: dict[str, Any]) -> QuestionForm:
        return cls(row["prompt"], str(row["word_limit"]), "1" if row["required"] else "")


def _prefixed(exc: DomainError, prefix: str) -> dict[str, str]:
    """The domain names fields `title`, `weight`...; the form's inputs are `criterion_title`..."""
    return {f"{prefix}{name}": message for name, message in form_errors(exc).items()}


def _status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        raise exc  # an unknown seat or item is the 404 page, not a form error
    return exc.status_code


async def _detail_page(
    seat_id: int,
    *,
    errors: dict[str, str] | None = None,
    criterion_form: CriterionForm | None = None,
    question_form: QuestionForm | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    async with read_transaction():
        detail = await seat_detail(seat_id, await database_now())
    return Template(
        "admin/seat_detail.html",
        context={
            "detail": detail,
            "seat": detail.seat,
            "errors": errors or {},
            "criterion_form": criterion_form or CriterionForm(),
            "question_form": question_form or QuestionForm(question_required="1"),
            "notice": NOTICES.get(notice, ""),
            "limits": LIMITS,
        },
        status_code=status_code,
    )


def _seat_form(
    seat: dict[str, Any] | None, form: SeatInput, errors: dict[str, str], status_code: int = 200
) -> Template:
    return Template(
        "admin/seat_form.html",
        context={"seat": seat, "form": form, "errors": errors, "limits": LIMITS},
        status_code=status_code,
    )


class SeatController(Controller):
    path = "/seats"

    @get("/", name="admin_seats")
    async def list_seats(self) -> Template:
        async with read_transaction():
            seats = await seat_overview(await database_now())
        return Template("admin/seat_list.html", context={"seats": seats})

    @get("/new")
    async def new_seat(self) -> Template:
        return _seat_form(None, SeatInput(), {})

    @post("/new")
    async def create_seat(
        self, request: Request, data: URLEncodedBody[SeatInput]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                seat_id = await create_seat_record(data, actor_of(request), await database_now())
        except DomainError as exc:
            return _seat_form(None, data, form_errors(exc), _status(exc))
        await clear_public_cache(request)
        return Redirect(f"/admin/seats/{seat_id}?done=created", status_code=303)

    @get("/{seat_id:int}", name="admin_seat")
    async def show_seat(self, seat_id: FromPath[int], done: FromQuery[str] = "") -> Template:
        return await _detail_page(seat_id, notice=done)

    @get("/{seat_id:int}/edit")
    async def edit_seat(self, seat_id: FromPath[int]) -> Template:
        seat = await get_seat(seat_id)
        form = SeatInput(**{name: seat[name] for name in SeatInput.__dataclass_fields__})
        return _seat_form(seat, form, {})

    @post("/{seat_id:int}/edit")
    async def save_seat(
        self, request: Request, seat_id: FromPath[int], data: URLEncodedBody[SeatInput]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                await update_seat(seat_id, data, actor_of(request), await database_now())
        except DomainError as exc:
            status = _status(exc)
            return _seat_form(await get_seat(seat_id), data, form_errors(exc), status)
        await clear_public_cache(request)
        return Redirect(f"/admin/seats/{seat_id}?done=saved", status_code=303)

    @post("/{seat_id:int}/publish")
    async def publish(self, request: Request, seat_id: FromPath[int]) -> Redirect:
        return await self._set_published(request, seat_id, True)

    @post("/{seat_id:int}/unpublish")
    async def unpublish(self, request: Request, seat_id: FromPath[int]) -> Redirect:
        return await self._set_published(request, seat_id, False)

    async def _set_published(self, request: Request, seat_id: int, published: bool) -> Redirect:
        async with write_transaction():
            await set_published(seat_id, published, actor_of(request), await database_now())
        await clear_public_cache(request)
        return Redirect(
            f"/admin/seats/{seat_id}?done={'published' if published else 'unpublished'}",
            status_code=303,
        )


class CriterionController(Controller):
    path = "/seats/{seat_id:int}/criteria"

    @post("/")
    async def add(
        self, request: Request, seat_id: FromPath[int], data: URLEncodedBody[CriterionForm]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                await add_criterion(
                    seat_id, data.to_input(), actor_of(request), await database_now()
                )
        except DomainError as exc:
            status = _status(exc)
            return await _detail_page(
                seat_id,
                errors=_prefixed(exc, "criterion_"),
                criterion_form=data,
                status_code=status,
            )
        await clear_public_cache(request)
        return Redirect(f"/admin/seats/{seat_id}?done=criterion-added#criteria", status_code=303)

    @get("/{criterion_id:int}/edit")
    async def edit(self, seat_id: FromPath[int], criterion_id: FromPath[int]) -> Template:
        async with read_transaction():
            detail = await seat_detail(seat_id, await database_now())
        row = next((c for c in detail.criteria if c["id"] == criterion_id), None)
        if row is None:
            raise NotFound("There is no such criterion on this seat.")
        return _item_page("criterion", detail, row, CriterionForm.of(row), {})

    @post("/{criterion_id:int}/edit")
    async def save(
        self,
        request: Request,
        seat_id: FromPath[int],
        criterion_id: FromPath[int],
        data: URLEncodedBody[CriterionForm],
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                await update_criterion(
                    seat_id, criterion_id, data.to_input(), actor_of(request), await database_now()
                )
        except DomainError as exc:
            status = _status(exc)
            async with read_transaction():
                detail = await seat_detail(seat_id, await database_now())
                row = await Criterion.select().where(Criterion.id == criterion_id).first()
            return _item_page("criterion", detail, row, data, _prefixed(exc, "criterion_"), status)
        await clear_public_cache(request)
        return Redirect(f"/admin/seats/{seat_id}?done=criterion-saved#criteria", status_code=303)

    @post("/{criterion_id:int}/remove")
    async def remove(
        self, request: Request, seat_id: FromPath[int], criterion_id: FromPath[int]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                await remove_criterion(
                    seat_id, criterion_id, actor_of(request), await database_now()
                )
        except DomainError as exc:
            status = _status(exc)
            return await _detail_page(
                seat_id, errors=_prefixed(exc, "criterion_"), status_code=status
            )
        await clear_public_cache(request)
        return Redirect(f"/admin/seats/{seat_id}?done=criterion-removed#criteria", status_code=303)


class QuestionController(Controller):
    path = "/seats/{seat_id:int}/questions"

    @post("/")
    async def add(
        self, request: Request, seat_id: FromPath[int], data: URLEncodedBody[QuestionForm]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                await add_question(
                    seat_id, data.to_input(), actor_of(request), await database_now()
                )
        except DomainError as exc:
            status = _status(exc)
            return await _detail_page(
                seat_id, errors=_prefixed(exc, "question_"), question_form=data, status_code=status
            )
        await clear_public_cache(request)
        return Redirect(f"/admin/seats/{seat_id}?done=question-added#questions", status_code=303)

    @get("/{question_id:int}/edit")
    async def edit(self, seat_id: FromPath[int], question_id: FromPath[int]) -> Template:
        async with read_transaction():
            detail = await seat_detail(seat_id, await database_now())
        row = next((q for q in detail.questions if q["id"] == question_id), None)
        if row is None:
            raise NotFound("There is no such question on this seat.")
        return _item_page("question", detail, row, QuestionForm.of(row), {})

    @post("/{question_id:int}/edit")
    async def save(
        self,
        request: Request,
        seat_id: FromPath[int],
        question_id: FromPath[int],
        data: URLEncodedBody[QuestionForm],
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                await update_question(
                    seat_id, question_id, data.to_input(), actor_of(request), await database_now()
                )
        except DomainError as exc:
            status = _status(exc)
            async with read_transaction():
                detail = await seat_detail(seat_id, await database_now())
                row = await Question.select().where(Question.id == question_id).first()
            return _item_page("question", detail, row, data, _prefixed(exc, "question_"), status)
        await clear_public_cache(request)
        return Redirect(f"/admin/seats/{seat_id}?done=question-saved#questions", status_code=303)

    @post("/{question_id:int}/remove")
    async def remove(
        self, request: Request, seat_id: FromPath[int], question_id: FromPath[int]
    ) -> Template | Redirect:
        try:
            async with write_transaction():
                await remove_question(seat_id, question_id, actor_of(request), await database_now())
        except DomainError as exc:
            status = _status(exc)
            return await _detail_page(
                seat_id, errors=_prefixed(exc, "question_"), status_code=status
            )
        await clear_public_cache(request)
        return Redirect(f"/admin/seats/{seat_id}?done=question-removed#questions", status_code=303)


def _item_page(
    kind: str,
    detail: Any,
    row: dict[str, Any] | None,
    form: Any,
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    return Template(
        f"admin/seat_{kind}_edit.html",
        context={
            "detail": detail,
            "seat": detail.seat,
            "item": row,
            "form": form,
            "errors": errors,
            "limits": LIMITS,
        },
        status_code=status_code,
    )


controllers = [SeatController, CriterionController, QuestionController]
public_controllers: list = []
