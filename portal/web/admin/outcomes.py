"""Admin pages for outcome letters: choose, preview exactly as sent, then send.

Thin handlers over the `portal.domain.outcome_*` modules. The preview renders each
letter with the same builder the send uses; "Send N letters" posts the same choices back, and
the domain writes the Outcome rows and outbox mails in one write transaction. Mail
is dispatched after commit. A second send finds the letters already sent and
says so; nothing goes twice.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction
from portal.domain.errors import DomainError, NotFound
from portal.domain.outcomes.kinds import MAX_FEEDBACK, Batch
from portal.domain.outcomes.letter_form import (
    LetterForm,
    LetterPlan,
    parse_letter_form,
    plan_letters,
)
from portal.domain.outcomes.letters import send_letters
from portal.domain.outcomes.queries import (
    RoundOutcomes,
    letter_delivery,
    load_round_outcomes,
    sent_history,
)
from portal.domain.rounds.phase import get_round
from portal.mail.compose.outcomes import compose_outcome_mail
from portal.web.common import actor_of, form_errors, settings_of
from workers.dispatch import write_then_send


def _count(value: str) -> int:
    return int(value) if value.isdigit() and len(value) <= 6 else 0


def _notice(sent: str, skipped: str, decided: str) -> str:
    n, m = _count(sent), _count(skipped)
    if not n:
        return ""
    # Queued, not sent: the outbox sends them, and the page shows how far it has got.
    text = f"{n} {'letter was' if n == 1 else 'letters were'} queued to send."
    if m:
        text += f" {m} {'letter had' if m == 1 else 'letters had'} already been queued and {'was' if m == 1 else 'were'} not sent again."
    if decided == "1":
        text += " The appointment is recorded and the round is now decided."
    return text


def _default_form(state: RoundOutcomes, batch: Batch, prefill: bool) -> LetterForm:
    """Every letter not yet sent is ticked; feedback is empty, or the panel's comments."""
    candidates = state.candidates(batch)
    return LetterForm(
        batch=batch.value,
        selected={
            c.id for c in candidates if c.sent_at is None and c.kind != "appointed" and c.can_send
        },
        feedback={c.id: (c.suggested_feedback if prefill else "") for c in candidates},
    )


def _page_errors(exc: DomainError, form: LetterForm) -> dict[str, str]:
    """Field errors keyed by the ids on the page: each batch's fields carry its name."""
    prefix = f"{form.batch}-" if form.batch in {b.value for b in Batch} else ""
    return {
        ("letters" if key in ("letters", "form") else prefix + key): message
        for key, message in form_errors(exc).items()
    }


async def _form_data(request: Request) -> dict[str, list[Any]]:
    form = await request.form()
    return {key: form.getall(key) for key in form}


async def _choose_page(
    round_id: int,
    *,
    entered: LetterForm | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    prefill: str = "",
    status_code: int = 200,
) -> Template:
    async with read_transaction():
        state = await load_round_outcomes(round_id)
        history = await sent_history(round_id)
        delivery = await letter_delivery(round_id)
    forms = {batch.value: _default_form(state, batch, prefill == batch.value) for batch in Batch}
    if entered is not None and entered.batch in forms:
        forms[entered.batch] = entered
    return Template(
        "admin/outcomes.html",
        context={
            "state": state,
            "round": state.round,
            "shortlisting": state.candidates(Batch.shortlisting),
            "appointment": state.candidates(Batch.appointment),
            "appointee": state.appointee(),
            "shortlisting_refusal": state.shortlisting_refusal(),
            "appointment_refusal": state.appointment_refusal(),
            "forms": forms,
            "history": history,
            "delivery": delivery,
            "errors": errors or {},
            "notice": notice,
            "max_feedback": MAX_FEEDBACK,
        },
        status_code=status_code,
    )


def _preview_page(request: Request, plan: LetterPlan, state_title: str) -> Template:
    compose = compose_outcome_mail(settings_of(request))
    letters = [(letter, compose(letter.notice)) for letter in plan.new]
    return Template(
        "admin/outcome_preview.html",
        context={
            "plan": plan,
            "letters": letters,
            "seat_title": state_title,
            "round_id": plan.round_id,
        },
    )


class OutcomesController(Controller):
    path = "/rounds/{round_id:int}/outcomes"

    @get("/", name="admin_outcomes")
    async def show(
        self,
        round_id: FromPath[int],
        prefill: FromQuery[str] = "",
        sent: FromQuery[str] = "",
        skipped: FromQuery[str] = "",
        decided: FromQuery[str] = "",
    ) -> Template:
        return await _choose_page(round_id, prefill=prefill, notice=_notice(sent, skipped, decided))

    @post("/preview")
    async def preview(self, request: Request, round_id: FromPath[int]) -> Template:
        form = parse_letter_form(await _form_data(request))
        try:
            async with read_transaction():
                plan = await plan_letters(round_id, form)
                state = await load_round_outcomes(round_id)
        except NotFound:
            raise
        except DomainError as exc:
            return await _choose_page(
                round_id, entered=form, errors=_page_errors(exc, form), status_code=exc.status_code
            )
        if not plan.new:
            return await _choose_page(
                round_id,
                entered=form,
                errors={"letters": "Every letter you chose has already been sent."},
                status_code=409,
            )
        return _preview_page(request, plan, state.seat_title)

    @post("/edit")
    async def edit(self, request: Request, round_id: FromPath[int]) -> Template:
        """Back from the preview to the choices, as they were entered."""
        form = parse_letter_form(await _form_data(request))
        return await _choose_page(round_id, entered=form)

    @post("/send")
    async def send(self, request: Request, round_id: FromPath[int]) -> Template | Redirect:
        form = parse_letter_form(await _form_data(request))
        compose = compose_outcome_mail(settings_of(request))
        try:
            async with write_then_send() as mail:
                result = await send_letters(
                    round_id, form, compose, actor_of(request), await database_now()
                )
                mail.send(result.outbox_ids)
        except NotFound:
            raise
        except DomainError as exc:
            return await _choose_page(
                round_id, entered=form, errors=_page_errors(exc, form), status_code=exc.status_code
            )
        return Redirect(
            f"/admin/rounds/{round_id}/outcomes?sent={result.sent}&skipped={result.skipped}"
            f"&decided={'1' if result.decided else ''}",
            status_code=303,
        )


class LetterDeliveryController(Controller):
    path = "/rounds/{round_id:int}/outcomes/delivery"

    @get("/", include_in_schema=False)
    async def delivery(self, round_id: FromPath[int]) -> dict[str, int]:
        """Admins: how many of the round's letters are sent, waiting or failed (the page polls it)."""
        async with read_transaction():
            await get_round(round_id)
            counts = await letter_delivery(round_id)
        return {"sent": counts.sent, "waiting": counts.waiting, "failed": counts.failed}


controllers = [OutcomesController, LetterDeliveryController]
