"""Uploading and downloading an application's documents, and hostile uploads.

Every refusal is checked for its clear message and for the CV stored before it
staying exactly as it was.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import UTC, datetime

import pytest

from portal.domain.applications.drafts import start_application
from portal.tables import Document, Round
from tests.conftest import form_token
from tests.factories import make_round, run, write
from tests.web.test_account_access import password_sign_in, registered
from tests.web.test_apply_journey import OPEN_ROUND

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
BOUNDARY = "portal-test-boundary"
KEPT = "Any document you uploaded before is kept."


def applicant_with_application(client, email: str = "rae@example.org") -> int:
    """Sign `client` in as a new applicant with a draft in an open round; the application id."""
    user_id = registered(client, email=email)
    assert password_sign_in(client, email=email, follow_redirects=False).status_code in (302, 303)
    setup = run(make_round(**OPEN_ROUND))
    return write(start_application, user_id, setup.round_id, datetime.now(UTC))


@pytest.fixture
def application_id(client) -> int:
    return applicant_with_application(client)


def multipart_body(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart/form-data body with the parts in the order given: (name, filename, data)."""
    out = io.BytesIO()
    for name, filename, data in parts:
        out.write(f"--{BOUNDARY}\r\n".encode())
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out.write(f"Content-Disposition: {disposition}\r\n".encode())
        if filename is not None:
            out.write(b"Content-Type: application/pdf\r\n")
        out.write(b"\r\n" + data + b"\r\n")
    out.write(f"--{BOUNDARY}--\r\n".encode())
    return out.getvalue()


def page_of(application_id: int) -> str:
    return f"/applications/{application_id}/documents"


def upload(client, application_id, data: bytes, filename="cv.pdf", kind="cv", token=None):
    """POST a file as the page's form does: the CSRF token first, then the file."""
    token = token if token is not None else form_token(client, page_of(application_id))
    body = multipart_body([("_csrf_token", None, token.encode()), ("file", filename, data)])
    return post_raw(client, f"{page_of(application_id)}/{kind}", body)


def post_raw(client, path: str, body: bytes, **kwargs):
    return client.post(
        path,
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        follow_redirects=False,
        **kwargs,
    )


def stored(application_id: int) -> dict[str, dict]:
    rows = run(Document.select().where(Document.application == application_id))
    return {row["kind"]: row for row in rows}


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def odt_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


@pytest.fixture
def with_cv(client, application_id) -> dict:
    """An application with a good CV already stored: the thing no refusal may lose."""
    assert upload(client, application_id, PDF, "first cv.pdf").status_code == 303
    return stored(application_id)["cv"]


def assert_cv_kept(application_id: int, cv: dict) -> None:
    assert stored(application_id)["cv"] == cv


# ---- The page and good uploads ---------------------------------------------------


def test_documents_page_states_types_and_size_cap(client, application_id):
    page = client.get(page_of(application_id))
    assert page.status_code == 200
    assert "PDF, Word (DOCX) or OpenDocument text (ODT)" in page.text
    assert "at most 5 MB" in page.text
    assert "You have not uploaded any documents yet." in page.text
    # The token comes before the file input in every form, so it can be checked first.
    for form in re.findall(r"<form .*?</form>", page.text, re.S):
        assert form.index('name="_csrf_token"') < form.index('name="file"')


def test_pdf_upload_is_stored_and_listed(client, application_id):
    response = upload(client, application_id, PDF, "My CV.pdf")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Your CV is uploaded." in page.text
    assert "My CV.pdf" in page.text and "Uploaded" in page.text
    cv = stored(application_id)["cv"]
    assert cv["data"] == PDF and cv["size"] == len(PDF)
    assert cv["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert cv["content_type"] == "application/pdf"


def test_minimal_docx_and_odt_are_accepted_by_content(client, application_id):
    assert upload(client, application_id, docx_bytes(), "cv.docx").status_code == 303
    assert (
        upload(client, application_id, odt_bytes(), "notes.odt", kind="supporting").status_code
        == 303
    )
    docs = stored(application_id)
    assert docs["cv"]["content_type"].endswith("wordprocessingml.document")
    assert docs["supporting"]["content_type"] == "application/vnd.oasis.opendocument.text"
    assert docs["supporting"]["filename"] == "notes.odt"


def test_type_comes_from_content_not_from_name_or_declared_type(client, application_id):
    assert upload(client, application_id, docx_bytes(), "cv.pdf").status_code == 303
    cv = stored(application_id)["cv"]
    assert cv["filename"] == "cv.docx" and cv["content_type"].endswith("wordprocessingml.document")


def test_download_is_an_attachment_with_safe_headers(client, application_id, with_cv):
    response = client.get(f"{page_of(application_id)}/cv")
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"first cv.pdf\"; filename*=UTF-8''first%20cv.pdf"
    )


def test_download_of_a_hostile_stored_name_stays_one_safe_header(client, application_id, with_cv):
    run(
        Document.update(
            {Document.filename: 'x"; filename=evil.html\r\nSet-Cookie: a=b/../../y.pdf'},
            force=True,
        )
    )
    response = client.get(f"{page_of(application_id)}/cv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.count('"') == 2
    assert (
        "\r" not in disposition
        and "\n" not in disposition
        and "/" not in disposition.split("''")[0]
    )
    assert "a=b" not in response.headers.get("set-cookie", "")


def test_missing_document_and_unknown_kind_are_404(client, application_id):
    assert client.get(f"{page_of(application_id)}/cv").status_code == 404
    assert client.get(f"{page_of(application_id)}/passport").status_code == 404
    refused = upload(client, application_id, PDF, kind="passport")
    assert refused.status_code == 404


# ---- Hostile content -------------------------------------------------------------


def test_html_named_pdf_is_refused_at_once(client, application_id, with_cv):
    response = upload(client, application_id, b"<html><script>alert(1)</script></html>", "cv.pdf")
    assert response.status_code == 400
    assert "This file is not a PDF, DOCX or ODT document." in response.text
    assert KEPT in response.text
    assert_cv_kept(application_id, with_cv)


def test_pdf_html_polyglot_is_refused(client, application_id, with_cv):
    polyglot = b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script>" + PDF
    response = upload(client, application_id, polyglot, "cv.pdf")
    assert response.status_code == 400
    assert "This PDF also contains web page code" in response.text
    assert_cv_kept(application_id, with_cv)


def test_random_zip_named_docx_is_refused(client, application_id, with_cv):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.js", "alert(1)")
    response = upload(client, application_id, buffer.getvalue(), "cv.docx")
    assert response.status_code == 400
    assert "This file is a ZIP archive, not a DOCX or ODT document." in response.text
    assert_cv_kept(application_id, with_cv)


def test_empty_file_is_refused(client, application_id, with_cv):
    response = upload(client, application_id, b"", "cv.pdf")
    assert response.status_code == 400
    assert "Choose a PDF, Word (DOCX) or OpenDocument text (ODT) file to upload." in response.text
    assert_cv_kept(application_id, with_cv)


@pytest.mark.parametrize(
    ("sent", "kept_as"),
    [
        ("../../x.pdf", "x.pdf"),
        ("cv.pdf.html", "cv.pdf"),
        ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
        ('my \\"best\\" cv.pdf', "my _best_ cv.pdf"),
        ("cv\tSet-Cookie: a=b.pdf", "cv Set-Cookie_ a=b.pdf"),
    ],
    ids=["path", "double-extension", "300-chars", "quotes", "control-character"],
)
def test_hostile_names_are_stored_and_sent_safely(client, application_id, sent, kept_as):
    assert upload(client, application_id, PDF, sent).status_code == 303
    assert stored(application_id)["cv"]["filename"] == kept_as
    disposition = client.get(f"{page_of(application_id)}/cv").headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="{kept_as}"; filename*=UTF-8')
    page = client.get(page_of(application_id))
    assert "<script" not in page.text.split("<main", 1)[1]


def test_name_with_a_line_break_is_stored_and_sent_on_one_line(client, application_id):
    token = form_token(client, page_of(application_id))
    body = multipart_body([("_csrf_token", None, token.encode())])[: -len(f"--{BOUNDARY}--\r\n")]
    body += (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cv\nX-Evil: 1.pdf"\r\n\r\n'
        ).encode()
        + PDF
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    response = post_raw(client, f"{page_of(application_id)}/cv", body)
    assert response.status_code == 303
    assert stored(application_id)["cv"]["filename"] == "cv X-Evil_ 1.pdf"
    disposition = client.get(f"{page_of(application_id)}/cv").headers["content-disposition"]
    assert (
        "\n" not in disposition
        and "X-Evil" not in client.get(f"{page_of(application_id)}/cv").headers
    )


# ---- Size ------------------------------------------------------------------------


def test_file_exactly_at_the_cap_is_accepted_and_one_byte_over_is_413(make_client):
    client = make_client(upload_max_mb=1)
    application_id = applicant_with_application(client)
    cap = 1024 * 1024
    at_cap = PDF + b"0" * (cap - len(PDF))
    assert "at most 1 MB" in client.get(page_of(application_id)).text
    assert upload(client, application_id, at_cap).status_code == 303
    kept = stored(application_id)["cv"]
    assert kept["size"] == cap

    response = upload(client, application_id, at_cap + b"0")
    assert response.status_code == 413
    assert "This file is larger than 1 MB, the most a document can be." in response.text
    assert KEPT in response.text
    assert_cv_kept(application_id, kept)


def test_declared_length_over_the_cap_is_refused_before_reading(client, application_id, with_cv):
    token = form_token(client, page_of(application_id))
    body = multipart_body([("_csrf_token", None, token.encode()), ("file", "cv.pdf", PDF)])
    response = client.post(
        f"{page_of(application_id)}/cv",
        content=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(50 * 1024 * 1024),
        },
    )
    assert response.status_code == 413
    assert "larger than 5 MB" in response.text
    assert_cv_kept(application_id, with_cv)


# ---- The form token --------------------------------------------------------------


def test_upload_without_or_with_a_wrong_token_is_403(client, application_id, with_cv):
    no_token = post_raw(
        client, f"{page_of(application_id)}/cv", multipart_body([("file", "cv.pdf", PDF)])
    )
    assert no_token.status_code == 403
    assert "did not come with a valid form token" in no_token.text
    assert "reload it, and upload the file again" in no_token.text
    forged = upload(client, application_id, PDF, token="0" * 128)
    assert forged.status_code == 403
    assert_cv_kept(application_id, with_cv)


def test_token_after_the_file_is_refused(client, application_id, with_cv):
    token = form_token(client, page_of(application_id))
    body = multipart_body([("file", "cv.pdf", PDF), ("_csrf_token", None, token.encode())])
    assert post_raw(client, f"{page_of(application_id)}/cv", body).status_code == 403
    assert_cv_kept(application_id, with_cv)


def _stream_to_app(client, path: str, chunks, headers: list[tuple[bytes, bytes]]):
    """Drive the app at the ASGI level, counting how much of the body it asked for.

    The test client reads a whole body before calling the app, so it cannot show
    that the server stopped early; this does.
    """
    consumed = 0
    messages: list[dict] = []
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())

    async def receive():
        nonlocal consumed
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver.local"),
            (b"cookie", cookie.encode()),
            (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    client.blocking_portal.call(client.app, scope, receive, send)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, body.decode(), consumed


FIFTY_MB = 50 * 1024 * 1024
CHUNK = 64 * 1024


def _fifty_mb_file_without_token():
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cv.pdf"\r\n\r\n'
    ).encode()
    sent = 0
    while sent < FIFTY_MB:
        yield b"%PDF-" + b"x" * (CHUNK - 5)
        sent += CHUNK


def test_50_mb_body_without_token_is_refused_after_reading_almost_none_of_it(
    client, application_id, with_cv
):
    status, text, consumed = _stream_to_app(
        client,
        f"{page_of(application_id)}/cv",
        _fifty_mb_file_without_token(),
        [(b"transfer-encoding", b"chunked")],
    )
    assert status == 403
    assert "did not come with a valid form token" in text
    assert consumed < 2 * CHUNK  # of 50 MB
    assert_cv_kept(application_id, with_cv)


def test_50_mb_declared_body_is_413_before_reading_any_of_it(client, application_id, with_cv):
    status, text, consumed = _stream_to_app(
        client,
        f"{page_of(application_id)}/cv",
        _fifty_mb_file_without_token(),
        [(b"content-length", str(FIFTY_MB + 200).encode())],
    )
    assert status == 413 and "larger than 5 MB" in text
    assert consumed == 0
    assert_cv_kept(application_id, with_cv)


def test_file_with_a_bad_signature_is_refused_at_its_first_bytes(client, application_id, with_cv):
    token = form_token(client, page_of(application_id))

    def chunks():
        yield multipart_body([("_csrf_token", None, token.encode())])[: -len(f"--{BOUNDARY}--\r\n")]
        yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cv.pdf"\r\n\r\n'.encode()
        for _ in range(FIFTY_MB // CHUNK):
            yield b"<html>" + b"x" * (CHUNK - 6)

    status, text, consumed = _stream_to_app(
        client, f"{page_of(application_id)}/cv", chunks(), [(b"transfer-encoding", b"chunked")]
    )
    assert status == 400 and "not a PDF, DOCX or ODT document" in text
    assert consumed < 2 * CHUNK + 1024
    assert_cv_kept(application_id, with_cv)


# ---- Malformed forms -------------------------------------------------------------


def test_body_with_thousands_of_parts_is_400(client, application_id, with_cv):
    token = form_token(client, page_of(application_id))
    parts = [("_csrf_token", None, token.encode())] + [(f"f{i}", None, b"x") for i in range(5000)]
    response = post_raw(client, f"{page_of(application_id)}/cv", multipart_body(parts))
    assert response.status_code == 400
    assert "This upload form has too many parts." in response.text
    assert_cv_kept(application_id, with_cv)


def test_two_files_in_one_upload_are_refused(client, application_id, with_cv):
    token = form_token(client, page_of(application_id))
    body = multipart_body(
        [("_csrf_token", None, token.encode()), ("file", "a.pdf", PDF), ("file", "b.pdf", PDF)]
    )
    response = post_raw(client, f"{page_of(application_id)}/cv", body)
    assert response.status_code == 400 and "Upload one file at a time." in response.text
    assert_cv_kept(application_id, with_cv)


def test_truncated_or_non_multipart_bodies_are_400(client, application_id, with_cv):
    token = form_token(client, page_of(application_id))
    whole = multipart_body([("_csrf_token", None, token.encode()), ("file", "cv.pdf", PDF)])
    truncated = post_raw(client, f"{page_of(application_id)}/cv", whole[:-30])
    assert truncated.status_code == 400
    urlencoded = client.post(
        f"{page_of(application_id)}/cv",
        data={"_csrf_token": token, "file": "x"},
        follow_redirects=False,
    )
    assert urlencoded.status_code == 400
    assert "was not sent as a file form" in urlencoded.text
    assert_cv_kept(application_id, with_cv)


# ---- Access and the deadline -----------------------------------------------------


def test_another_applicants_application_is_404_for_page_upload_and_download(
    client, application_id, with_cv, another_app_client
):
    with another_app_client() as other:
        applicant_with_application(other, email="sam@example.org")
        assert other.get(page_of(application_id)).status_code == 404
        assert other.get(f"{page_of(application_id)}/cv").status_code == 404
        token = form_token(other, "/account/profile")
        response = upload(other, application_id, PDF, "takeover.pdf", token=token)
        assert response.status_code == 404
        assert "There is no such application." in response.text
    assert_cv_kept(application_id, with_cv)


def test_signed_out_visitor_cannot_upload_or_download(client, application_id, with_cv, make_client):
    stranger = make_client()
    assert stranger.get(f"{page_of(application_id)}/cv").status_code == 401
    response = post_raw(stranger, f"{page_of(application_id)}/cv", multipart_body([]))
    assert response.status_code == 401
    assert_cv_kept(application_id, with_cv)


def test_upload_after_the_deadline_states_the_closing_time(client, application_id, with_cv):
    token = form_token(client, page_of(application_id))
    closed = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    run(Round.update({Round.closes_at: closed, Round.grace_minutes: 0}, force=True))
    response = upload(client, application_id, PDF, "late.pdf", token=token)
    assert response.status_code == 409
    assert "This round closed at" in response.text and "1 March 2026" in response.text
    # Back on the documents page, the refusal beside the reason; no upload form is offered.
    assert 'id="closing"' in response.text and 'type="file"' not in response.text
    assert_cv_kept(application_id, with_cv)
    # The draft's documents stay readable by their owner.
    assert client.get(f"{page_of(application_id)}/cv").content == PDF
