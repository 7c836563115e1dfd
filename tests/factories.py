"""Ready-made rounds for tests that start after the deadline (reminders, panels).

Plain inserts, no HTTP: a seat with criteria and questions, a round, applicants with
drafts or submitted applications (answers and statements filled in), and panel
members who have accepted and declared. Call inside a test that uses the `settings`
fixture (it binds the database); wrap calls with `tests.conftest.run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from portal import db
from portal.domain.accounts.credentials import hash_password
from portal.tables import (
    Answer,
    Application,
    Criterion,
    PanelMember,
    Question,
    Round,
    Seat,
    Statement,
    Submission,
    User,
)

PASSWORD = "a long enough test password"
_PASSWORD_HASH: str | None = None


def password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class RoundSetup:
    seat_id: int
    round_id: int
    criteria: list[int] = field(default_factory=list)  # criterion ids, in order
    weights: list[int] = field(default_factory=list)
    questions: list[int] = field(default_factory=list)
    applications: list[int] = field(default_factory=list)
    applicants: list[int] = field(default_factory=list)  # user ids, same order


async def make_user(
    email: str, name: str, *, role: str = "applicant", organisation: str = "", verified: bool = True
) -> int:
    async with db.write_transaction():
        rows = await User.insert(
            User(
                email=email,
                name=name,
                role=role,
                password_hash=password_hash(),
                organisation=organisation,
                email_verified_at=now() if verified else None,
            )
        ).returning(User.id)
    return rows[0]["id"]


async def make_round(
    *,
    title: str = "Racial equity lead",
    slug: str | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    stage: str = "collecting",
    anonymised: bool = True,
    grace_minutes: int = 0,
    weights: tuple[int, ...] = (2, 1),
    questions: int = 1,
    reminder_hours: str = "168,48,3",
    scoring_deadline: datetime | None = None,
) -> RoundSetup:
    """A published seat and one round. Default: closed an hour ago, still collecting."""
    t = now()
    closes_at = closes_at or t - timedelta(hours=1)
    opens_at = opens_at or closes_at - timedelta(days=14)
    async with db.write_transaction():
        seat = await Seat.insert(
            Seat(
                slug=slug or f"seat-{t.timestamp():.0f}-{id(weights)}",
                title=title,
                summary="A seat on the advisory group.",
                published=True,
            )
        ).returning(Seat.id)
        seat_id = seat[0]["id"]
        criteria = []
        for i, weight in enumerate(weights):
            rows = await Criterion.insert(
                Criterion(
                    seat=seat_id,
                    position=i,
                    title=f"Criterion {i + 1}",
                    guidance=f"Evidence of criterion {i + 1}.",
                    weight=weight,
                )
            ).returning(Criterion.id)
            criteria.append(rows[0]["id"])
        question_ids = []
        for i in range(questions):
            rows = await Question.insert(
                Question(seat=seat_id, position=i, prompt=f"Question {i + 1}?", word_limit=300)
            ).returning(Question.id)
            question_ids.append(rows[0]["id"])
        rnd = await Round.insert(
            Round(
                seat=seat_id,
                opens_at=opens_at,
                closes_at=closes_at,
                grace_minutes=grace_minutes,
                anonymised=anonymised,
                stage=stage,
                reminder_hours=reminder_hours,
                scoring_deadline=scoring_deadline,
            )
        ).returning(Round.id)
    return RoundSetup(
        seat_id=seat_id,
        round_id=rnd[0]["id"],
        criteria=criteria,
        weights=list(weights),
        questions=question_ids,
    )


async def add_application(
    setup: RoundSetup,
    *,
    email: str,
    name: str,
    organisation: str = "",
    status: str = "submitted",
    panel_number: int | None = None,
    text: str | None = None,
) -> int:
    """An applicant with an application in the round; a submitted one has answers,
    statements and a Submission row, like one that went through the real submit."""
    user_id = await make_user(email, name, organisation=organisation)
    t = now()
    body = text or f"My answer as {name}."
    async with db.write_transaction():
        submitted = status != "draft"
        rows = await Application.insert(
            Application(
                applicant=user_id,
                round=setup.round_id,
                status=status,
                reference=f"SP-T-{user_id:06d}" if submitted else None,
                submitted_at=t if submitted else None,
                received_at=t if submitted else None,
                content_hash="0" * 64 if submitted else None,
                version=1 if submitted else 0,
                panel_number=panel_number,
            )
        ).returning(Application.id)
        app_id = rows[0]["id"]
        for q in setup.questions:
            await Answer.insert(Answer(application=app_id, question=q, text=body))
        for c in setup.criteria:
            await Statement.insert(
                Statement(application=app_id, criterion=c, text=f"{body} (criterion {c})")
            )
        if submitted:
            await Submission.insert(
                Submission(
                    application=app_id,
                    version=1,
                    received_at=t,
                    content_hash="0" * 64,
                    snapshot={"reference": f"SP-T-{user_id:06d}"},
                )
            )
    setup.applications.append(app_id)
    setup.applicants.append(user_id)
    return app_id


async def add_panel_member(
    setup: RoundSetup,
    *,
    email: str,
    name: str,
    role: str = "member",
    ready: bool = True,
    user_id: int | None = None,
) -> tuple[int, int]:
    """An accepted panel member (user id, member id); `ready`: confidentiality confirmed
    and declarations made (with no organisations)."""
    user_id = user_id or await make_user(email, name)
    t = now()
    async with db.write_transaction():
        rows = await PanelMember.insert(
            PanelMember(
                round=setup.round_id,
                user=user_id,
                role=role,
                accepted_at=t,
                confidentiality_at=t if ready else None,
                declarations_at=t if ready else None,
            )
        ).returning(PanelMember.id)
    return user_id, rows[0]["id"]


async def fetch(query):
    """Await a Piccolo query; `run(fetch(Table.select()...))` from a sync test."""
    return await query


async def set_stage(round_id: int, stage: str) -> None:
    async with db.write_transaction():
        await Round.update({Round.stage: stage, Round.stage_changed_at: now()}).where(
            Round.id == round_id
        )
