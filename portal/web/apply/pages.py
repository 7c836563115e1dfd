"""Apply journey pages: thin handlers over `portal.domain.applications.drafts`.

Refusals the applicant can act on (missing parts, withdrawn, closed round) are
shown on the refusal page with a way back; NotFound is left to the one error
handler, so another applicant's id looks exactly like an id that does not exist.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.applications.drafts import (
    save_answers,
    start_application,
    withdraw_application,
)
from portal.domain.applications.queries import (
    Allowed,
    allowed,
    list_applications,
    missing_fields,
    start_info,
)
from portal.domain.applications.records import (
    ApplicationView,
    answer_label,
    load_application,
    statement_label,
)
from portal.domain.applications.submission import (
    has_unsubmitted_changes,
    latest_receipt,
    submit_application,
)
from portal.domain.applications.words import (
    MAX_TEXT_CHARS,
    STATEMENT_WORD_LIMIT,
    count_words,
    over_limit_message,
)
from portal.domain.errors import DomainError, NotFound
from portal.domain.outcomes.queries import applicant_outcomes
from portal.domain.rounds.deadline import DeadlinePassed
from portal.mail.compose.applications import compose_receipt
from portal.web.auth import CurrentUser
from portal.web.common import form_errors, settings_of
from workers.dispatch import write_then_send

# Only these form fields are read; anything else (status, reference, received_at,
# applicant...) is ignored.
_FIELD = re.compile(r"^(question|criterion)_([0-9]{1,9})$")

UserRequest = Request[CurrentUser, dict, Any]


def _see_other(path: str) -> Redirect:
    return Redirect(path, status_code=303)


def _refused(
    message: str, status_code: int, application_id: int | None = None, title: str = ""
) -> Template:
    return Template(
        "apply/refused.html",
        context={
            "title": title or "We could not do that",
            "message": message,
            "application_id": application_id,
            # 409: closed or withdrawn, so the answers can be read but not changed.
            "read_only": status_code == 409,
        },
        status_code=status_code,
    )


def _form_cap_kb(request: UserRequest) -> int:
    cap = request.app.request_max_body_size
    return cap // 1000 if isinstance(cap, int) else 0


def form_fields(view: ApplicationView, entered: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each question and criterion as a form field, with the entered or saved text, its
    count and, when it is over its word limit, the mark that says so."""

    def build(name: str, saved: str, limit: int, label: str, **extra: Any) -> dict[str, Any]:
        value = entered.get(name, saved)
        words = count_words(value)
        over = over_limit_message(label, words, limit) if words > limit else ""
        return {"name": name, "value": value, "limit": limit, "words": words, "over": over, **extra}

    return {
        "questions": [
            build(
                f"question_{q['id']}",
                view.answers.get(q["id"], ""),
                q["word_limit"],
                answer_label(number),
                number=number,
                prompt=q["prompt"],
                required=q["required"],
            )
            for number, q in enumerate(view.questions, start=1)
        ],
        "criteria": [
            build(
                f"criterion_{c['id']}",
                view.statements.get(c["id"], ""),
                STATEMENT_WORD_LIMIT,
                statement_label(c["title"]),
                title=c["title"],
                guidance=c["guidance"],
            )
            for c in view.criteria
        ],
    }


def _saved_notice(view: ApplicationView, can: Allowed, marks: dict[str, str]) -> str:
    notice = "Your draft is saved."
    if can.before_deadline:
        notice += " You can come back to it at any time before the closing time."
    if marks:
        notice += " Shorten the answers marked below before you submit."
    return notice


class ApplyController(Controller):
    path = "/"

    def _form_page(
        self,
        request: UserRequest,
        view: ApplicationView,
        now: datetime,
        *,
        entered: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        saved: bool = False,
        status_code: int = 200,
        outcomes: list[dict[str, Any]] | None = None,
    ) -> Template:
        fields = form_fields(view, entered or {})
        # Over the word limit: saved, marked beside the field, and listed; only submit refuses.
        marks = {
            f["name"]: f["over"] for f in fields["questions"] + fields["criteria"] if f["over"]
        }
        can = allowed(view, now)
        return Template(
            "apply/application_form.html",
            context={
                # Outcome letters sent to this applicant, with their feedback (issue 5).
                "outcomes": outcomes or [],
                "view": view,
                "app": view.application,
                "fields": fields,
                "errors": errors or {},
                "marks": marks if can.change else {},
                "field_errors": {**marks, **(errors or {})},
                "notice": _saved_notice(view, can, marks) if saved else "",
                "can": can,
                "editable": can.change,
                "changed_since_submit": has_unsubmitted_changes(view),
                # The app-wide body cap (portal.app), stated so a 413 page can point back to it.
                "max_form_kb": _form_cap_kb(request),
                "max_chars": MAX_TEXT_CHARS,
            },
            status_code=status_code,
        )

    @get("/", name="my_applications")
    async def index(self, request: UserRequest, withdrawn: FromQuery[str] = "") -> Template:
        """The signed-in applicant's applications; changes nothing."""
        async with read_transaction():
            applications = await list_applications(request.user.id, await database_now())
        notice = "Your application is withdrawn." if withdrawn == "1" else ""
        return Template(
            "apply/application_list.html",
            context={"applications": applications, "notice": notice},
        )

    @get("/start/{round_id:int}")
    async def start_page(self, request: UserRequest, round_id: FromPath[int]) -> Template:
        """An applicant reads a round before starting (or resuming); changes nothing."""
        async with read_transaction():
            info = await start_info(round_id, request.user.id, await database_now())
        return Template("apply/application_start.html", context={"info": info})

    @post("/start/{round_id:int}")
    async def start(self, request: UserRequest, round_id: FromPath[int]) -> Template | Redirect:
        """An applicant starts (or resumes) their application: before the deadline only."""
        try:
            async with write_transaction():
                application_id = await start_application(
                    request.user.id, round_id, await database_now()
                )
        except NotFound:
            raise
        except DomainError as exc:
            return _refused(exc.message, exc.status_code, title="You cannot start an application")
        return _see_other(f"/applications/{application_id}")

    @get("/{application_id:int}")
    async def show(
        self, request: UserRequest, application_id: FromPath[int], saved: FromQuery[str] = ""
    ) -> Template:
        """The applicant's own application form (read-only once it can no longer change)."""
        async with read_transaction():
            now = await database_now()
            view = await load_application(application_id, request.user.id)
            outcomes = await applicant_outcomes(application_id, request.user.id)
        return self._form_page(request, view, now, saved=saved == "1", outcomes=outcomes)

    @post("/{application_id:int}")
    async def save(
        self, request: UserRequest, application_id: FromPath[int]
    ) -> Template | Redirect:
        """The applicant saves their draft's answers and statements (over a word limit too)."""
        form = await request.form()
        entered: dict[str, str] = {}
        answers: dict[int, Any] = {}
        statements: dict[int, Any] = {}
        for key in form:
            match = _FIELD.match(key)
            if not match:
                continue
            value = form.getall(key)[0]
            entered[key] = value if isinstance(value, str) else ""
            target = answers if match.group(1) == "question" else statements
            target[int(match.group(2))] = value
        try:
            async with write_transaction():
                await save_answers(
                    application_id, request.user.id, answers, statements, await database_now()
                )
        except NotFound:
            raise
        except DomainError as exc:
            async with read_transaction():
                now = await database_now()
                view = await load_application(application_id, request.user.id)
            closed = isinstance(exc, DeadlinePassed)
            return self._form_page(
                request,
                view,
                now,
                entered=None if closed else entered,
                errors={"closing": exc.message} if closed else form_errors(exc),
                status_code=exc.status_code,
            )
        if form.get("action") == "review":
            return _see_other(f"/applications/{application_id}/review")
        return _see_other(f"/applications/{application_id}?saved=1")

    @get("/{application_id:int}/review")
    async def review(self, request: UserRequest, application_id: FromPath[int]) -> Template:
        """The applicant checks their application and finds the submit button; changes nothing."""
        async with read_transaction():
            now = await database_now()
            view = await load_application(application_id, request.user.id)
        can = allowed(view, now)
        return Template(
            "apply/application_review.html",
            context={
                "view": view,
                "app": view.application,
                "fields": form_fields(view, {}),
                "missing": missing_fields(view),
                "can": can,
                "editable": can.change,
                "changed_since_submit": has_unsubmitted_changes(view),
            },
        )

    @post("/{application_id:int}/submit")
    async def submit(
        self, request: UserRequest, application_id: FromPath[int]
    ) -> Template | Redirect:
        """The applicant submits; the database's clock decides, once, inside the write."""
        settings = settings_of(request)
        # The database clock at arrival, before any wait for SQLite's write lock.
        arrived_at = await database_now()
        try:
            async with write_then_send() as mail:
                # Read first for the mail's seat title; the submit reads again under the write lock.
                view = await load_application(application_id, request.user.id)
                receipt = await submit_application(
                    application_id,
                    request.user.id,
                    arrived_at=arrived_at,
                    receipt_mail=compose_receipt(
                        settings, seat_title=view.round["seat_title"], round_id=view.round["id"]
                    ),
                )
                mail.send(receipt.outbox_ids)
        except NotFound:
            raise
        except DomainError as exc:
            return _refused(
                exc.message,
                exc.status_code,
                application_id,
                title="Your application was not submitted",
            )
        return _see_other(f"/applications/{application_id}/receipt")

    @get("/{application_id:int}/receipt")
    async def receipt(self, request: UserRequest, application_id: FromPath[int]) -> Template:
        """The receipt of the applicant's latest submitted version; changes nothing."""
        async with read_transaction():
            now = await database_now()
            view = await load_application(application_id, request.user.id)
            receipt = await latest_receipt(application_id, request.user.id)
        return Template(
            "apply/application_receipt.html",
            context={
                "view": view,
                "app": view.application,
                "receipt": receipt,
                "can": allowed(view, now),
                "changed_since_submit": has_unsubmitted_changes(view),
            },
        )

    @get("/{application_id:int}/withdraw")
    async def withdraw_page(self, request: UserRequest, application_id: FromPath[int]) -> Template:
        """The applicant is asked to confirm a withdrawal; changes nothing."""
        async with read_transaction():
            now = await database_now()
            view = await load_application(application_id, request.user.id)
        return Template(
            "apply/application_withdraw.html",
            context={"view": view, "app": view.application, "can": allowed(view, now)},
        )

    @post("/{application_id:int}/withdraw")
    async def withdraw(
        self, request: UserRequest, application_id: FromPath[int]
    ) -> Template | Redirect:
        """The applicant withdraws their application: before the deadline only."""
        try:
            async with write_then_send() as mail:
                outbox_ids = await withdraw_application(
                    application_id, request.user.id, await database_now()
                )
                mail.send(outbox_ids)
        except NotFound:
            raise
        except DomainError as exc:
            return _refused(
                exc.message,
                exc.status_code,
                application_id,
                title="Your application was not withdrawn",
            )
        return _see_other("/applications?withdrawn=1")


controllers = [ApplyController]
