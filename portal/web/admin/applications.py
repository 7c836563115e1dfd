"""Admin pages for applications: a round's list and CSV, one application, its documents,
and a per-applicant deadline extension (a reasonable adjustment).

Opening an application, downloading a document and exporting the CSV each write an
audit event, so they run in a write transaction even though they change nothing else.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.applications.admin_queries import (
    AdminApplicationView,
    download_document,
    load_for_admin,
    round_applications,
    view_application,
)
from portal.domain.applications.export import export_round_applications
from portal.domain.applications.extensions import ApplicantExtensionInput, grant_extension
from portal.domain.errors import DomainError, NotFound
from portal.domain.rounds.entry import MAX_REASON
from portal.domain.timerules import to_local_inputs
from portal.mail.compose.applications import compose_extension_granted
from portal.web.common import actor_of, form_errors, settings_of
from portal.web.documents import document_response
from workers.dispatch import write_then_send

NOTICES = {"extended": "The applicant's deadline was extended and they have been told by email."}
# The form's own size is tiny; a bigger body is refused (413) before it is parsed.
EXTENSION_FORM_MAX_BYTES = 64 * 1024


def _application_page(
    view: AdminApplicationView,
    *,
    form: ApplicantExtensionInput | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    if form is None:
        # Start from the applicant's current deadline, on the round's clock, to be moved later.
        day, clock = to_local_inputs(view.deadline.closes_at, view.zone_name)
        form = ApplicantExtensionInput(closes_date=day, closes_time=clock)
    return Template(
        "admin/application_detail.html",
        context={
            "view": view,
            "application": view.application,
            "round": view.round,
            "seat": view.seat,
            "applicant": view.applicant,
            "zone_name": view.zone_name,
            "form": form,
            "errors": errors or {},
            "notice": NOTICES.get(notice, ""),
            "max_reason": MAX_REASON,
        },
        status_code=status_code,
    )


class RoundApplicationsController(Controller):
    path = "/rounds/{round_id:int}"

    @get("/applications", name="admin_round_applications")
    async def list_applications(self, round_id: FromPath[int]) -> Template:
        async with read_transaction():
            listing = await round_applications(round_id)
        return Template("admin/application_list.html", context={"listing": listing})

    @get("/applications.csv")
    async def export_csv(self, request: Request, round_id: FromPath[int]) -> Response[bytes]:
        async with write_transaction():
            listing, data = await export_round_applications(
                round_id, actor_of(request), await database_now()
            )
        return Response(
            content=data,
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
            headers={
                "Content-Disposition": f'attachment; filename="round-{listing.round["id"]}-applications.csv"',
                "X-Content-Type-Options": "nosniff",
            },
        )


class ApplicationController(Controller):
    path = "/applications/{application_id:int}"

    @get("/", name="admin_application")
    async def show(
        self, request: Request, application_id: FromPath[int], done: FromQuery[str] = ""
    ) -> Template:
        async with write_transaction():
            view = await view_application(application_id, actor_of(request), await database_now())
        return _application_page(view, notice=done)

    @get("/documents/{kind:str}")
    async def document(
        self, request: Request, application_id: FromPath[int], kind: FromPath[str]
    ) -> Response[bytes]:
        async with write_transaction():
            row = await download_document(
                application_id, kind, actor_of(request), await database_now()
            )
        return document_response(row)

    @post("/extension", request_max_body_size=EXTENSION_FORM_MAX_BYTES)
    async def extend(
        self,
        request: Request,
        application_id: FromPath[int],
        data: URLEncodedBody[ApplicantExtensionInput],
    ) -> Template | Redirect:
        try:
            async with write_then_send() as mail:
                message_ids = await grant_extension(
                    application_id,
                    data,
                    actor_of(request),
                    await database_now(),
                    compose_mail=compose_extension_granted(settings_of(request)),
                )
                mail.send(message_ids)
        except NotFound:
            raise
        except DomainError as exc:
            async with read_transaction():
                view = await load_for_admin(application_id)
            return _application_page(
                view, form=data, errors=form_errors(exc), status_code=exc.status_code
            )
        return Redirect(f"/admin/applications/{application_id}?done=extended", status_code=303)


controllers = [RoundApplicationsController, ApplicationController]
public_controllers: list = []
