"""Applications as the real submit leaves them, in rounds of any age."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from portal import db
from portal.domain.applications.drafts import save_answers, save_document, start_application
from portal.domain.applications.submission import (
    content_hash,
    make_reference,
    submit_application,
)
from portal.domain.statuses import ApplicationStatus
from portal.tables import Answer, Application, Document, Statement, Submission
from tests.factories.accounts import PASSWORD, make_user
from tests.factories.common import now as clock
from tests.factories.rounds import RoundSetup

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"


async def add_application(
    setup: RoundSetup,
    *,
    email: str,
    name: str,
    status: ApplicationStatus | str = ApplicationStatus.submitted,
    panel_number: int | None = None,
    text: str | None = None,
    answers: Sequence[str] | None = None,
    statements: Sequence[str] | None = None,
    received_at: datetime | None = None,
    started_at: datetime | None = None,
    reference: str | None = None,
    user_id: int | None = None,
    password: str | None = PASSWORD,
    **profile: str,
) -> int:
    """An application in the round by the account with this address (made if missing,
    with `password` and `profile` as for `make_user`; or `user_id`'s), appended to
    `setup.applications` and `setup.applicants`.

    Every question and criterion has a text: `answers` and `statements` in order, or
    else `text` (default "My answer as <name>."). Anything but a draft has what the
    real submit writes: a reference (made unless given), the received time, the
    content hash and a Submission row.

    Written directly: tests need applications in rounds that have already closed,
    where no user path can make one (`submit_application` refuses after the deadline),
    and many of them, where the real submit would queue a receipt mail for each. In an
    open round, `apply` goes the applicant's way.
    """
    status = ApplicationStatus(status)
    user_id = user_id or await make_user(
        email, name, password=password, reuse=True, now=started_at, **profile
    )
    body = text or f"My answer as {name}."
    answers = list(answers) if answers is not None else [body] * len(setup.questions)
    statements = (
        list(statements)
        if statements is not None
        else [f"{body} (criterion {c})" for c in setup.criteria]
    )
    received = received_at or clock()
    started = started_at or received
    content = {
        "round": setup.round_id,
        "answers": [
            {"question": q, "text": t} for q, t in zip(setup.questions, answers, strict=True)
        ],
        "statements": [
            {"criterion": c, "text": t} for c, t in zip(setup.criteria, statements, strict=True)
        ],
        "documents": [],
    }
    submitted = status is not ApplicationStatus.draft
    if submitted:
        reference = reference or make_reference(received.year)
    digest = content_hash(content) if submitted else None
    async with db.write_transaction():
        rows = await Application.insert(
            Application(
                applicant=user_id,
                round=setup.round_id,
                status=status.value,
                reference=reference,
                created_at=started,
                updated_at=received if submitted else started,
                submitted_at=received if submitted else None,
                received_at=received if submitted else None,
                content_hash=digest,
                version=1 if submitted else 0,
                panel_number=panel_number,
            )
        ).returning(Application.id)
        app_id = rows[0]["id"]
        for q, answer in zip(setup.questions, answers, strict=True):
            await Answer.insert(
                Answer(application=app_id, question=q, text=answer, updated_at=started)
            )
        for c, statement in zip(setup.criteria, statements, strict=True):
            await Statement.insert(
                Statement(application=app_id, criterion=c, text=statement, updated_at=started)
            )
        if submitted:
            await Submission.insert(
                Submission(
                    application=app_id,
                    version=1,
                    received_at=received,
                    content_hash=digest,
                    snapshot={
                        **content,
                        "reference": reference,
                        "received_at": received.isoformat(),
                    },
                )
            )
    setup.applications.append(app_id)
    setup.applicants.append(user_id)
    return app_id


async def apply(
    setup: RoundSetup,
    user_id: int,
    *,
    answers: Sequence[str] | None = None,
    statements: Sequence[str] | None = None,
    cv: bytes | None = PDF,
    submit: bool = True,
    now: datetime | None = None,
) -> int:
    """The applicant's own way, while the round is open: `start_application`,
    `save_answers` (every question and criterion, "Because I care" and "Twenty years of
    it" unless given), `save_document` (the CV, unless None) and, when `submit`,
    `submit_application` (without the receipt mail). Returns the application id."""
    t = now or clock()
    answers = list(answers) if answers is not None else ["Because I care"] * len(setup.questions)
    statements = (
        list(statements) if statements is not None else ["Twenty years of it"] * len(setup.criteria)
    )
    async with db.write_transaction():
        app_id = await start_application(user_id, setup.round_id, t)
        await save_answers(
            app_id,
            user_id,
            dict(zip(setup.questions, answers, strict=True)),
            dict(zip(setup.criteria, statements, strict=True)),
            t,
        )
        if cv is not None:
            await save_document(
                app_id,
                user_id,
                kind="cv",
                filename="cv.pdf",
                content_type="application/pdf",
                data=cv,
                sha256=hashlib.sha256(cv).hexdigest(),
                now=t,
            )
        if submit:
            await submit_application(app_id, user_id)
    return app_id


async def add_document(
    application_id: int,
    *,
    kind: str = "cv",
    filename: str = "cv.pdf",
    data: bytes = PDF,
    content_type: str = "application/pdf",
) -> int:
    """A stored upload, written directly: `save_document` refuses once the round has
    closed (and the upload pages judge the file before it gets that far)."""
    async with db.write_transaction():
        rows = await Document.insert(
            Document(
                application=application_id,
                kind=kind,
                filename=filename,
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data=data,
            )
        ).returning(Document.id)
    return rows[0]["id"]


async def panel_numbers(setup: RoundSetup) -> list[int]:
    """The panel numbers of `setup.applications`, in that order: what panel URLs carry."""
    rows = await Application.select(Application.id, Application.panel_number).where(
        Application.id.is_in(setup.applications or [0])
    )
    by_id = {r["id"]: r["panel_number"] for r in rows}
    return [by_id[a] for a in setup.applications]


async def panel_number(application_id: int) -> int:
    """One application's panel number ("Applicant 7" is 7)."""
    row = (
        await Application.select(Application.panel_number)
        .where(Application.id == application_id)
        .first()
    )
    return row["panel_number"]
