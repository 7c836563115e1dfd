"""Reading stored documents: the upload page's list and a download for the owner.

Storing is `portal.domain.applications.drafts.save_document`. An application that is not
the applicant's own is NotFound, as everywhere, so ids do not leak.
"""

from __future__ import annotations

from typing import Any

from portal.domain.applications.drafts import DOCUMENT_KINDS
from portal.domain.applications.records import NO_SUCH_APPLICATION
from portal.domain.errors import NotFound, ensure_record_id
from portal.tables import Application, Document

NO_SUCH_DOCUMENT = "There is no such document: it may not have been uploaded yet."
SUMMARY_COLUMNS = (
    Document.kind,
    Document.filename,
    Document.content_type,
    Document.size,
    Document.sha256,
    Document.uploaded_at,
)


async def _ensure_owned(application_id: int, applicant_id: int) -> None:
    ensure_record_id(application_id, NO_SUCH_APPLICATION)
    owned = await Application.exists().where(
        (Application.id == application_id) & (Application.applicant == applicant_id)
    )
    if not owned:
        raise NotFound(NO_SUCH_APPLICATION)


async def document_summaries(application_id: int, applicant_id: int) -> dict[str, dict[str, Any]]:
    """kind -> name, type, size, hash and upload time (never the bytes)."""
    await _ensure_owned(application_id, applicant_id)
    rows = await Document.select(*SUMMARY_COLUMNS).where(Document.application == application_id)
    return {row["kind"]: row for row in rows}


async def applicant_document(application_id: int, applicant_id: int, kind: str) -> dict[str, Any]:
    """The stored document of this kind, with its bytes, for its owner."""
    await _ensure_owned(application_id, applicant_id)
    if kind not in DOCUMENT_KINDS:
        raise NotFound(NO_SUCH_DOCUMENT)
    row = (
        await Document.select(*SUMMARY_COLUMNS, Document.data)
        .where((Document.application == application_id) & (Document.kind == kind))
        .first()
    )
    if row is None:
        raise NotFound(NO_SUCH_DOCUMENT)
    return row
