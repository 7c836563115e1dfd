"""Document types judged by content, and file names safe to store and send."""

from __future__ import annotations

import io
import zipfile

import pytest

from portal.domain.applications.filetypes import (
    DocumentType,
    Signature,
    UnacceptableFile,
    content_disposition,
    identify,
    safe_filename,
    signature_of,
)

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def odt_bytes(mimetype: bytes = b"application/vnd.oasis.opendocument.text") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def test_identify_accepts_pdf_docx_and_odt_by_content():
    assert identify(PDF).type is DocumentType.pdf
    assert identify(docx_bytes()).type is DocumentType.docx
    assert identify(odt_bytes()).type is DocumentType.odt
    assert identify(docx_bytes()).content_type.endswith("wordprocessingml.document")


def test_signature_of_first_bytes():
    assert signature_of(b"%PDF-") is Signature.pdf
    assert signature_of(b"PK\x03\x04") is Signature.zip
    assert signature_of(b"<html") is None
    assert signature_of(b"") is None


@pytest.mark.parametrize(
    "data",
    [
        b"<html><script>alert(1)</script></html>",
        b"%PDF-1.4\n<html><script>alert(1)</script>",
        b"%PDF-1.4\n" + b" " * 500 + b"<SCRIPT src=//evil>",
        b"%PDF-1.4\n<!DOCTYPE html><body>",
        odt_bytes(b"application/vnd.oasis.opendocument.spreadsheet"),
        b"PK\x03\x04 not really a zip",
        b"",
    ],
    ids=["html", "polyglot", "late-script", "doctype", "ods", "broken-zip", "empty"],
)
def test_identify_refuses_other_content_with_a_clear_message(data):
    with pytest.raises(UnacceptableFile) as caught:
        identify(data)
    assert (
        "Upload a PDF, Word (DOCX) or OpenDocument text (ODT) file instead." in caught.value.message
    )


def test_identify_refuses_a_random_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.exe", b"MZ")
    with pytest.raises(UnacceptableFile, match="ZIP archive, not a DOCX or ODT"):
        identify(buffer.getvalue())


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("../../x.pdf", DocumentType.pdf, "x.pdf"),
        ("..\\..\\windows\\cv.pdf", DocumentType.pdf, "cv.pdf"),
        ("cv.pdf.html", DocumentType.pdf, "cv.pdf"),
        ("cv", DocumentType.pdf, "cv.pdf"),
        ("cv.pdf", DocumentType.docx, "cv.docx"),
        ('my "best" cv.pdf', DocumentType.pdf, "my _best_ cv.pdf"),
        ("cv\r\nSet-Cookie: a=b.pdf", DocumentType.pdf, "cv Set-Cookie_ a=b.pdf"),
        ("cv\u202efdp.exe", DocumentType.pdf, "cv fdp.pdf"),
        ("Zoë Ó Briain.odt", DocumentType.odt, "Zoë Ó Briain.odt"),
        ("", DocumentType.pdf, "document.pdf"),
        ("...", DocumentType.pdf, "document.pdf"),
        (".htaccess", DocumentType.pdf, "htaccess.pdf"),
    ],
)
def test_safe_filename(name, kind, expected):
    assert safe_filename(name, kind) == expected


def test_safe_filename_shortens_long_names_and_keeps_the_extension():
    name = safe_filename("a" * 300 + ".pdf", DocumentType.pdf)
    assert len(name) == 120 and name.endswith("aaa.pdf")


def test_content_disposition_has_ascii_and_utf8_names():
    header = content_disposition("Zoë CV.pdf")
    assert header == "attachment; filename=\"Zoe CV.pdf\"; filename*=UTF-8''Zo%C3%AB%20CV.pdf"


@pytest.mark.parametrize(
    "name", ['a"b.pdf', "a\r\nX-Evil: 1.pdf", "../../etc/passwd", "a\\b;c.pdf"]
)
def test_content_disposition_never_carries_quotes_line_breaks_or_paths(name):
    header = content_disposition(name)
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert header.startswith("attachment; ")
    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 2
    assert "/" not in fallback and "\\" not in fallback and ";" not in fallback
    assert "%2F" not in header and "%5C" not in header
