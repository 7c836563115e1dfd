"""Which documents we accept, judged by content, and names that are safe to store and send.

Pure: bytes and strings in, answers out. The upload handler calls `signature_of`
on the first bytes of a file (to refuse a hostile upload at once) and `identify`
on the whole file once read; names from the client never decide the type.
"""

from __future__ import annotations

import enum
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from urllib.parse import quote

from portal.domain.errors import DomainError

# Bytes needed before the first-bytes check can decide.
SIGNATURE_BYTES = 5
PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
# A browser that ignores the declared type sniffs roughly the first KB for HTML: a
# "PDF" with markup there could run as a page if it were ever served inline.
HTML_SNIFF_BYTES = 1024
HTML_MARKERS = (b"<html", b"<script", b"<!doctype html", b"<body", b"<head", b"<iframe", b"<svg")
MAX_NAME_CHARS = 120
ACCEPTED_TYPES_TEXT = "PDF, Word (DOCX) or OpenDocument text (ODT)"


class DocumentType(enum.StrEnum):
    pdf = "pdf"
    docx = "docx"
    odt = "odt"


CONTENT_TYPES = {
    DocumentType.pdf: "application/pdf",
    DocumentType.docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    DocumentType.odt: "application/vnd.oasis.opendocument.text",
}
EXTENSIONS = {DocumentType.pdf: ".pdf", DocumentType.docx: ".docx", DocumentType.odt: ".odt"}


class UnacceptableFile(DomainError):
    """The content is not one of the accepted types; the message says what to send instead."""


def not_accepted(detail: str) -> UnacceptableFile:
    return UnacceptableFile(
        f"{detail} Upload a {ACCEPTED_TYPES_TEXT} file instead. "
        "Any document you uploaded before is kept.",
        field="file",
    )


class Signature(enum.Enum):
    pdf = "pdf"
    zip = "zip"


def signature_of(first_bytes: bytes) -> Signature | None:
    """PDF or ZIP (DOCX and ODT are ZIPs) by the file's first bytes; None for anything else."""
    if first_bytes.startswith(PDF_MAGIC):
        return Signature.pdf
    if first_bytes.startswith(ZIP_MAGIC):
        return Signature.zip
    return None


@dataclass(frozen=True)
class Identified:
    type: DocumentType

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.type]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.type]


def identify(data: bytes) -> Identified:
    """The document's type from its content, or UnacceptableFile saying why not."""
    signature = signature_of(data[:SIGNATURE_BYTES])
    if signature is Signature.pdf:
        head = data[:HTML_SNIFF_BYTES].lower()
        if any(marker in head for marker in HTML_MARKERS):
            raise not_accepted("This PDF also contains web page code, so it cannot be accepted.")
        return Identified(DocumentType.pdf)
    if signature is Signature.zip:
        return Identified(_office_type(data))
    raise not_accepted("This file is not a PDF, DOCX or ODT document.")


def _office_type(data: bytes) -> DocumentType:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
                return DocumentType.docx
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                # Read only a member small enough to be a mimetype (no zip bombs here).
                if info.file_size <= 100 and archive.read(info).strip() == ODT_MIMETYPE:
                    return DocumentType.odt
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError):
        raise not_accepted("This file is damaged or is not a DOCX or ODT document.") from None
    raise not_accepted("This file is a ZIP archive, not a DOCX or ODT document.")


# ---- Names -----------------------------------------------------------------------

# Characters no file system or header should get from a client: path parts, quotes,
# Windows-reserved characters and semicolons (a header parameter separator).
_UNSAFE = re.compile(r'[\\/:*?"<>|;`\']')
_SPACES = re.compile(r"\s+")


def _visible(char: str) -> str:
    # Control (Cc, incl. CR/LF and NUL), format (Cf: bidi overrides that disguise
    # "cv\u202efdp.exe") and separators become spaces.
    return " " if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"} else char


def safe_filename(name: str, document_type: DocumentType, fallback: str = "document") -> str:
    """A display and download name: the last path part, no control or unsafe characters,
    at most MAX_NAME_CHARS, ending in the extension of the type found by content."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(_visible(c) for c in name)
    name = _UNSAFE.sub("_", name)
    name = _SPACES.sub(" ", name).strip(" .")
    extension = EXTENSIONS[document_type]
    stem = name
    if not stem.lower().endswith(extension):
        # "cv.pdf.html" that is a PDF becomes "cv.pdf"; "cv" becomes "cv.pdf".
        stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    if stem.lower().endswith(extension):
        stem = stem[: -len(extension)]
    stem = stem.strip(" .")[: MAX_NAME_CHARS - len(extension)].strip(" .") or fallback
    return stem + extension


def ascii_fallback(name: str) -> str:
    """The same name in plain ASCII for old clients ("Zoë" -> "Zoe"), header-safe."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    folded = re.sub(r"[^A-Za-z0-9 ._()\[\]+=,!#$&~@-]", "_", folded)
    return _SPACES.sub(" ", folded).strip(" .") or "document"


def content_disposition(name: str) -> str:
    """`attachment` with both an ASCII filename and the UTF-8 one (RFC 6266 / RFC 8187).

    `name` should already be a `safe_filename`; it is cleaned again so that a stored
    name can never break the header (no quotes, CR/LF or path parts survive).
    """
    cleaned = "".join(_visible(c) for c in name)
    cleaned = _UNSAFE.sub("_", re.split(r"[\\/]", cleaned)[-1])
    cleaned = _SPACES.sub(" ", cleaned).strip(" .") or "document"
    return (
        f'attachment; filename="{ascii_fallback(cleaned)}"; '
        f"filename*=UTF-8''{quote(cleaned, safe='')}"
    )
