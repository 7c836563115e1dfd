"""Documents of an application: the upload page, a streaming upload, and downloads.

The upload handler reads the request body itself, through python-multipart's
streaming parser, instead of letting Litestar buffer the form: Litestar's CSRF
middleware would parse a whole (perhaps 50 MB) hostile body before it could refuse
one without a token. So the route is excluded from that middleware and checks the
token itself, with Litestar's own comparison, as the form's first field; then the
file's first bytes, the size cap while reading, and the part count. Whatever is
refused leaves the stored documents as they were.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, Router, get
from litestar import post as post_route
from litestar.datastructures import CacheControlHeader, State
from litestar.exceptions import HTTPException
from litestar.middleware.csrf import CSRFMiddleware
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.applications import filetypes
from portal.domain.applications.documents import applicant_document, document_summaries
from portal.domain.applications.drafts import DOCUMENT_KINDS, save_document
from portal.domain.applications.filetypes import SIGNATURE_BYTES, content_disposition, safe_filename
from portal.domain.applications.queries import allowed
from portal.domain.applications.records import load_application
from portal.domain.applications.status import ensure_editable, is_draft
from portal.domain.errors import DomainError, NotFound
from portal.settings import Settings
from portal.web.auth import CurrentUser, requires_applicant
from portal.web.common import settings_of

# Room for the multipart framing, the token field and a file part's headers.
FORM_OVERHEAD_BYTES = 16 * 1024
MAX_PARTS = 10
MAX_TOKEN_BYTES = 512
TOKEN_FIELD = "_csrf_token"  # noqa: S105 - the form field's name, not a secret
FILE_FIELD = "file"
KIND_LABELS = {"cv": "CV", "supporting": "supporting document"}
ALLOWED_CONTENT_TYPES = frozenset(filetypes.CONTENT_TYPES.values())
UNKNOWN_KIND = "There is no such document: choose your CV or a supporting document."


class UploadRefused(DomainError):
    """An upload refused while reading; the message says what to do next."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message + " Any document you uploaded before is kept.", field=FILE_FIELD)
        self.status_code = status_code


def too_large(cap: int) -> UploadRefused:
    return UploadRefused(
        413,
        f"This file is larger than {describe_size(cap)}, the most a document can be. "
        "Make it smaller (for example, save it as a PDF without large images) and upload it again.",
    )


def bad_form(message: str) -> UploadRefused:
    return UploadRefused(400, message)


def token_refused() -> UploadRefused:
    return UploadRefused(
        403,
        "This upload did not come with a valid form token, which protects your account. "
        "Go back to your documents page, reload it, and upload the file again.",
    )


def describe_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


class UploadForm:
    """Callbacks for python-multipart's streaming parser: one upload form, checked as it arrives.

    Callbacks raise UploadRefused, which ends parsing at once (the rest of the body
    is never read).
    """

    def __init__(self, token_matches: Callable[[str], bool], cap: int) -> None:
        self.token_matches = token_matches
        self.cap = cap
        self.parts = 0
        self.token_ok = False
        self.filename = ""
        self.data: bytearray | None = None
        self.hasher = hashlib.sha256()
        self._signature_checked = False
        self.complete = False  # the closing boundary arrived: nothing was cut off
        self._current = ""
        self._token = bytearray()
        self._headers: dict[str, str] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise bad_form(
                "This upload form has too many parts. Use the form on your documents page "
                "and send one file at a time."
            )
        self._headers = {}
        self._current = ""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self._header_field.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("latin-1").strip()
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if not self.token_ok:
            # The page's form puts the token first: anything else first is refused
            # before a byte of a file is read.
            if name != TOKEN_FIELD:
                raise token_refused()
            self._current = TOKEN_FIELD
            return
        if name == FILE_FIELD or b"filename" in params:
            if self.data is not None:
                raise bad_form("Upload one file at a time.")
            self.data = bytearray()
            self.filename = params.get(b"filename", b"").decode("utf-8", "replace")
            self._current = FILE_FIELD
        else:
            self._current = ""  # other fields are not read

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._current == TOKEN_FIELD:
            self._token += chunk
            if len(self._token) > MAX_TOKEN_BYTES:
                raise token_refused()
        elif self._current == FILE_FIELD and self.data is not None:
            if len(self.data) + len(chunk) > self.cap:
                raise too_large(self.cap)
            self.data += chunk
            self.hasher.update(chunk)
            if not self._signature_checked and len(self.data) >= SIGNATURE_BYTES:
                self._check_signature()

    def on_part_end(self) -> None:
        if self._current == TOKEN_FIELD:
            if not self.token_matches(self._token.decode("ascii", "replace").strip()):
                raise token_refused()
            self.token_ok = True
        elif self._current == FILE_FIELD and self.data and not self._signature_checked:
            self._check_signature()
        self._current = ""

    def on_end(self) -> None:
        self.complete = True

    def _check_signature(self) -> None:
        self._signature_checked = True
        if filetypes.signature_of(bytes(self.data or b"")[:SIGNATURE_BYTES]) is None:
            raise filetypes.not_accepted("This file is not a PDF, DOCX or ODT document.")


def csrf_checker(request: Request) -> Callable[[str], bool]:
    """Litestar's own token comparison (HMAC-signed token, equal to the cookie's)."""
    config = request.app.csrf_config
    if config is None:  # pragma: no cover - the app always configures CSRF
        return lambda _token: False
    cookie = request.cookies.get(config.cookie_name)
    middleware = CSRFMiddleware(app=request.app, config=config)

    def matches(token: str) -> bool:
        return bool(cookie and token) and middleware._csrf_tokens_match(token, cookie or "")

    return matches


async def read_upload(request: Request, cap: int) -> UploadForm:
    """Stream the body through the parser, refusing as early as the problem shows."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary", b"")
    if content_type != b"multipart/form-data" or not boundary or len(boundary) > 70:
        raise bad_form(
            "This upload was not sent as a file form. Use the form on your documents page."
        )
    limit = cap + FORM_OVERHEAD_BYTES
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large(cap)
    form = UploadForm(csrf_checker(request), cap)
    parser = MultipartParser(boundary, callbacks=form.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise too_large(cap)
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise bad_form(
            "This upload arrived incomplete or malformed. Go back to your documents page and try again."
        ) from None
    except HTTPException as exc:
        if exc.status_code == 413:
            raise too_large(cap) from None
        raise
    if not form.token_ok:
        raise token_refused()
    if not form.complete:
        raise bad_form(
            "This upload arrived incomplete. Check your connection, then upload the file again."
        )
    if not form.data:
        raise bad_form(f"Choose a {filetypes.ACCEPTED_TYPES_TEXT} file to upload.")
    return form


async def upload_document(
    request: Request[CurrentUser, dict, State],
    application_id: FromPath[int],
    kind: FromPath[str],
) -> Template | Redirect:
    """The applicant uploads their CV or supporting document; a refusal comes back to the
    documents page with its message beside that file field, and nothing stored changes."""
    settings: Settings = settings_of(request)
    if kind not in DOCUMENT_KINDS:
        raise NotFound(UNKNOWN_KIND)
    try:
        # Ownership and the deadline first: a closed round or someone else's id is
        # refused before the body is read. save_document checks both again when storing.
        async with read_transaction():
            view = await load_application(application_id, request.user.id)
            now = await database_now()
        view.deadline.ensure_can_write(now, finishing=is_draft(view.application))
        ensure_editable(view.application)
        form = await read_upload(request, settings.upload_max_bytes)
        data = bytes(form.data or b"")
        found = filetypes.identify(data)
        filename = safe_filename(form.filename, found.type, fallback=kind)
        async with write_transaction():
            await save_document(
                application_id,
                request.user.id,
                kind=kind,
                filename=filename,
                content_type=found.content_type,
                data=data,
                sha256=form.hasher.hexdigest(),
                now=await database_now(),
            )
    except NotFound:
        raise
    except DomainError as exc:
        return await _documents_page(
            request,
            application_id,
            errors={f"{kind}-file": exc.message},
            status_code=exc.status_code,
        )
    return Redirect(f"/applications/{application_id}/documents?saved={kind}", status_code=303)


def document_response(doc: dict[str, Any]) -> Response[bytes]:
    """A stored document as a download, never shown inline (also used by the admin side)."""
    content_type = doc["content_type"] if doc["content_type"] in ALLOWED_CONTENT_TYPES else None
    return Response(
        content=bytes(doc["data"]),
        media_type=content_type or "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition(doc["filename"] or "document"),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@get("/{kind:str}", name="application_document")
async def download_document(
    request: Request[CurrentUser, dict, State],
    application_id: FromPath[int],
    kind: FromPath[str],
) -> Response[bytes]:
    async with read_transaction():
        doc = await applicant_document(application_id, request.user.id, kind)
    return document_response(doc)


async def _documents_page(
    request: Request[CurrentUser, dict, State],
    application_id: int,
    *,
    saved: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    async with read_transaction():
        now = await database_now()
        view = await load_application(application_id, request.user.id)
        documents = await document_summaries(application_id, request.user.id)
    settings: Settings = settings_of(request)
    can = allowed(view, now)
    if errors and not can.change:  # no upload form to show it beside: beside the reason
        errors = {"closing": " ".join(errors.values())}
    return Template(
        "apply/documents.html",
        context={
            "application": view.application,
            "round": view.round,
            "deadline": view.deadline,
            "can": can,
            "documents": documents,
            "kinds": KIND_LABELS,
            "saved": KIND_LABELS.get(saved, ""),
            "errors": errors or {},
            "max_size": describe_size(settings.upload_max_bytes),
            "accepted": filetypes.ACCEPTED_TYPES_TEXT,
            "describe_size": describe_size,
        },
        status_code=status_code,
    )


@get("/", name="application_documents")
async def show_documents(
    request: Request[CurrentUser, dict, State],
    application_id: FromPath[int],
    saved: FromQuery[str] = "",
) -> Template:
    """The applicant's documents page, with the upload forms while they may still upload."""
    return await _documents_page(request, application_id, saved=saved)


def router(settings: Settings) -> Router:
    """Built per app: the upload's body limit follows PORTAL_UPLOAD_MAX_MB."""
    upload = post_route(
        "/{kind:str}",
        name="application_document_upload",
        # Checked by the handler itself, as the form's first field (see the module doc).
        exclude_from_csrf=True,
        request_max_body_size=settings.upload_max_bytes + FORM_OVERHEAD_BYTES,
    )(upload_document)
    return Router(
        path="/applications/{application_id:int}/documents",
        guards=[requires_applicant],
        route_handlers=[show_documents, download_document, upload],
        include_in_schema=False,
        cache_control=CacheControlHeader(no_store=True),
    )
