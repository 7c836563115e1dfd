"""Admin pages for rounds: create one, see it, open or close it now, extend it, move its stage.

Whether a round is open is never set here: "open now" and "close now" move its
opening or closing time to this instant, and the phase follows from the clock.
Stages after closing change only through `transition_round`.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.errors import DomainError
from portal.domain.reminders.schedule import (
    ScheduleInput,
    reminder_counts,
    update_reminder_schedule,
)
from portal.domain.rounds.deadline import GRACE_ALLOWS
from portal.domain.rounds.entry import (
    MAX_REASON,
    ROUND_ZONES,
    ExtensionInput,
    RoundInput,
    form_field,
)
from portal.domain.rounds.phase import MAX_GRACE_MINUTES, RoundStage
from portal.domain.rounds.queries import RoundDetail, round_detail
from portal.domain.rounds.stages import CutoffNotConfirmed, transition_round
from portal.domain.rounds.times import (
    close_round_now,
    create_round,
    extend_round,
    open_round_now,
)
from portal.domain.scoring.settings import ScoringSettingsInput, update_scoring_settings
from portal.domain.seats.editing import get_seat
from portal.domain.timerules import format_instant, to_local_inputs, zone_label
from portal.mail.compose.applications import compose_round_extended
from portal.web.common import (
    actor_of,
    checkbox,
    clear_public_cache,
    form_errors,
    refusal_status,
    settings_of,
)
from workers.dispatch import write_then_send

NOTICES = {
    "created": "The round was created.",
    "opened": "The round is open now.",
    "closed": "The round is closed. Applications are no longer accepted.",
    "extended": "The closing time was extended.",
    "stage": "The round moved to its next stage.",
    "reminders": "The reminder schedule was saved.",
    "scoring": "The scoring settings were saved.",
}


@dataclass
class CloseForm:
    confirm: str = ""


@dataclass
class ScheduleForm:
    """The reminder schedule form; the checkbox is absent when unticked."""

    reminder_hours: str = ""
    closed_notice: str = ""
    panel_reminder_hours: str = ""


@dataclass
class StageForm:
    stage: str = ""
    reason: str = ""
    confirm: str = ""  # leaving collecting while applicants may still write
    asked: str = ""  # sent from the confirmation page
    archive: str = ""  # archiving is for good: its own tick box


def _entry_errors(exc: DomainError) -> dict[str, str]:
    """The domain's error keys ("closes", "closes.time") filed under the form's inputs."""
    errors: dict[str, str] = {}
    for key, message in form_errors(exc).items():
        errors.setdefault(form_field(key), message)
    return errors


def _zone_options(selected: str) -> list[tuple[str, str]]:
    zones = list(ROUND_ZONES)
    if selected and selected not in zones:
        zones.append(selected)  # keep what was entered visible, even when it was refused
    return [
        (
            name,
            name if zone_label(name) == name.replace("_", " ") else f"{name} ({zone_label(name)})",
        )
        for name in zones
    ]


async def _round_page(
    round_id: int,
    *,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
    schedule_form: ScheduleForm | None = None,
    scoring_form: ScoringSettingsInput | None = None,
) -> Template:
    async with read_transaction():
        detail = await round_detail(round_id, await database_now())
        sent_reminders = await reminder_counts(round_id)
    schedule = {
        "reminder_hours": detail.round["reminder_hours"],
        "closed_notice": detail.round["closed_notice"],
        "panel_reminder_hours": detail.round["panel_reminder_hours"],
    }
    if schedule_form is not None:  # what the admin typed, shown back beside the error
        schedule = {
            "reminder_hours": schedule_form.reminder_hours,
            "closed_notice": checkbox(schedule_form.closed_notice),
            "panel_reminder_hours": schedule_form.panel_reminder_hours,
        }
    return Template(
        "admin/round_detail.html",
        context={
            "detail": detail,
            "view": detail.view,
            "round": detail.round,
            "seat": detail.seat,
            "errors": errors or {},
            "notice": NOTICES.get(notice, ""),
            "schedule": schedule,
            "sent_reminders": sent_reminders,
            "scoring": scoring_form or ScoringSettingsInput.of(detail.round),
            "grace_allows": GRACE_ALLOWS,
        },
        status_code=status_code,
    )


async def _cutoff_page(
    round_id: int, refusal: CutoffNotConfirmed, reason: str, tried: bool
) -> Template:
    """Asks the admin to confirm a move out of collecting that refuses applicants' writes."""
    async with read_transaction():
        detail = await round_detail(round_id, await database_now())
    return Template(
        "admin/round_stage_confirm.html",
        context={
            "detail": detail,
            "view": detail.view,
            "round": detail.round,
            "seat": detail.seat,
            "stage": refusal.to,
            "reason": reason,
            "message": refusal.message,
            "grace_allows": GRACE_ALLOWS,
            "until_text": format_instant(refusal.cutoff.until, detail.view.timezone),
            "errors": {"confirm": "Tick the box to confirm, or wait."} if tried else {},
        },
        status_code=409,
    )


def _new_round_page(
    seat: dict, form: RoundInput, errors: dict[str, str], status_code: int = 200
) -> Template:
    return Template(
        "admin/round_form.html",
        context={
            "seat": seat,
            "form": form,
            "errors": errors,
            "zones": _zone_options(form.timezone),
            "max_grace": MAX_GRACE_MINUTES,
        },
        status_code=status_code,
    )


def _extend_page(
    detail: RoundDetail, form: ExtensionInput, errors: dict[str, str], status_code: int = 200
) -> Template:
    return Template(
        "admin/round_extend.html",
        context={
            "detail": detail,
            "view": detail.view,
            "round": detail.round,
            "seat": detail.seat,
            "form": form,
            "errors": errors,
            "max_reason": MAX_REASON,
        },
        status_code=status_code,
    )


class NewRoundController(Controller):
    path = "/seats/{seat_id:int}/rounds"

    @get("/new")
    async def new_round(self, seat_id: FromPath[int]) -> Template:
        seat = await get_seat(seat_id)
        return _new_round_page(seat, RoundInput(anonymised=True), {})

    @post("/new")
    async def create_round(
        self, request: Request, seat_id: FromPath[int], data: URLEncodedBody[RoundInput]
    ) -> Template | Redirect:
        """An admin creates a round of a seat; every rule is `create_round`'s."""
        data.opens_at = data.closes_at = None  # the form enters wall-clock times only
        try:
            async with write_transaction():
                round_id = await create_round(
                    seat_id, data, actor_of(request), await database_now()
                )
        except DomainError as exc:
            status = refusal_status(exc)
            return _new_round_page(await get_seat(seat_id), data, _entry_errors(exc), status)
        await clear_public_cache(request)
        return Redirect(f"/admin/rounds/{round_id}?done=created", status_code=303)


class RoundController(Controller):
    path = "/rounds/{round_id:int}"

    @get("/", name="admin_round")
    async def show_round(self, round_id: FromPath[int], done: FromQuery[str] = "") -> Template:
        return await _round_page(round_id, notice=done)

    @get("/open")
    async def confirm_open(self, round_id: FromPath[int]) -> Template:
        """Admins: opening early locks the criteria, so it is confirmed first."""
        return await self._confirm_page("admin/round_open.html", round_id, {})

    @post("/open-now")
    async def open_now(
        self, request: Request, round_id: FromPath[int], data: URLEncodedBody[CloseForm]
    ) -> Template | Redirect:
        """An admin opens an upcoming round at this moment, once confirmed; audited."""
        if not checkbox(data.confirm):
            message = "Tick the box to confirm that the round opens now and its criteria lock."
            return await self._confirm_page(
                "admin/round_open.html", round_id, {"confirm": message}, 400
            )
        try:
            async with write_transaction():
                await open_round_now(round_id, actor_of(request), await database_now())
        except DomainError as exc:
            status = refusal_status(exc)
            return await self._confirm_page(
                "admin/round_open.html", round_id, {"confirm": exc.message}, status
            )
        await clear_public_cache(request)
        return Redirect(f"/admin/rounds/{round_id}?done=opened", status_code=303)

    @get("/close")
    async def confirm_close(self, round_id: FromPath[int]) -> Template:
        return await self._close_page(round_id, {})

    @post("/close")
    async def close_now(
        self, request: Request, round_id: FromPath[int], data: URLEncodedBody[CloseForm]
    ) -> Template | Redirect:
        if not checkbox(data.confirm):
            return await self._close_page(
                round_id,
                {"confirm": "Tick the box to confirm that applications should stop now."},
                400,
            )
        try:
            async with write_transaction():
                await close_round_now(round_id, actor_of(request), await database_now())
        except DomainError as exc:
            status = refusal_status(exc)
            return await self._close_page(round_id, {"confirm": exc.message}, status)
        await clear_public_cache(request)
        return Redirect(f"/admin/rounds/{round_id}?done=closed", status_code=303)

    async def _close_page(
        self, round_id: int, errors: dict[str, str], status_code: int = 200
    ) -> Template:
        return await self._confirm_page("admin/round_close.html", round_id, errors, status_code)

    async def _confirm_page(
        self, template: str, round_id: int, errors: dict[str, str], status_code: int = 200
    ) -> Template:
        async with read_transaction():
            detail = await round_detail(round_id, await database_now())
        return Template(
            template,
            context={
                "detail": detail,
                "view": detail.view,
                "round": detail.round,
                "seat": detail.seat,
                "errors": errors,
            },
            status_code=status_code,
        )

    @get("/extend")
    async def extend_form(self, round_id: FromPath[int]) -> Template:
        async with read_transaction():
            detail = await round_detail(round_id, await database_now())
        day, clock = to_local_inputs(detail.view.closes_at, detail.view.timezone)
        return _extend_page(detail, ExtensionInput(closes_date=day, closes_time=clock), {})

    @post("/extend")
    async def extend(
        self, request: Request, round_id: FromPath[int], data: URLEncodedBody[ExtensionInput]
    ) -> Template | Redirect:
        """An admin extends the whole round; applicants with drafts are mailed after commit."""
        data.closes_at = None  # the form enters wall-clock times only
        try:
            async with write_then_send() as mail:
                message_ids = await extend_round(
                    round_id,
                    data,
                    actor_of(request),
                    await database_now(),
                    compose_mail=compose_round_extended(settings_of(request)),
                )
                mail.send(message_ids)
        except DomainError as exc:
            status = refusal_status(exc)
            async with read_transaction():
                detail = await round_detail(round_id, await database_now())
            return _extend_page(detail, data, _entry_errors(exc), status)
        await clear_public_cache(request)
        return Redirect(f"/admin/rounds/{round_id}?done=extended", status_code=303)

    @post("/stage")
    async def move_stage(
        self, request: Request, round_id: FromPath[int], data: URLEncodedBody[StageForm]
    ) -> Template | Redirect:
        try:
            stage = RoundStage(data.stage)
        except ValueError:
            # An unknown round is still the 404 page.
            await round_detail(round_id, await database_now())
            return await _round_page(
                round_id, errors={"stages": "Choose one of the stages shown."}, status_code=400
            )
        reason = data.reason[:MAX_REASON].strip()
        if stage is RoundStage.archived and not checkbox(data.archive):
            message = "Tick the box to confirm: an archived round is read-only for good."
            return await _round_page(round_id, errors={"archive": message}, status_code=400)
        try:
            async with write_then_send() as mail:
                message_ids = await transition_round(
                    round_id,
                    stage,
                    actor_of(request),
                    await database_now(),
                    reason=reason,
                    confirm_cutoff=checkbox(data.confirm),
                )
                mail.send(message_ids)
        except CutoffNotConfirmed as exc:
            return await _cutoff_page(round_id, exc, reason, data.asked == "1")
        except DomainError as exc:
            status = refusal_status(exc)
            return await _round_page(round_id, errors={"stages": exc.message}, status_code=status)
        await clear_public_cache(request)
        return Redirect(f"/admin/rounds/{round_id}?done=stage", status_code=303)

    @post("/reminders")
    async def change_reminders(
        self, request: Request, round_id: FromPath[int], data: URLEncodedBody[ScheduleForm]
    ) -> Template | Redirect:
        change = ScheduleInput(
            reminder_hours=data.reminder_hours,
            closed_notice=checkbox(data.closed_notice),
            panel_reminder_hours=data.panel_reminder_hours,
        )
        try:
            async with write_transaction():
                await update_reminder_schedule(
                    round_id, change, actor_of(request), await database_now()
                )
        except DomainError as exc:
            status = refusal_status(exc)
            return await _round_page(
                round_id, errors=form_errors(exc), status_code=status, schedule_form=data
            )
        return Redirect(f"/admin/rounds/{round_id}?done=reminders#reminders", status_code=303)

    @post("/scoring")
    async def change_scoring(
        self,
        request: Request,
        round_id: FromPath[int],
        data: URLEncodedBody[ScoringSettingsInput],
    ) -> Template | Redirect:
        """An admin sets the scoring deadline and the minimum score sheets; audited."""
        try:
            async with write_transaction():
                await update_scoring_settings(
                    round_id, data, actor_of(request), await database_now()
                )
        except DomainError as exc:
            status = refusal_status(exc)
            return await _round_page(
                round_id, errors=form_errors(exc), status_code=status, scoring_form=data
            )
        return Redirect(f"/admin/rounds/{round_id}?done=scoring#scoring", status_code=303)


controllers = [NewRoundController, RoundController]
public_controllers: list = []
