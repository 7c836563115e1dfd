"""A confirmed shortlist, for the pack, the outcome letters and who may see them."""

from __future__ import annotations

from dataclasses import dataclass

from portal import db
from portal.domain.applications.status import transition_application
from portal.domain.rounds.phase import RoundStage
from portal.domain.statuses import ApplicationStatus
from portal.tables import Shortlist, ShortlistEntry
from tests.factories.applications import PDF, add_application, add_document
from tests.factories.common import now as clock
from tests.factories.panels import add_panel_member
from tests.factories.rounds import RoundSetup, advance_round, make_round, set_stage
from tests.factories.scoring import score_application

COMMENT = "Strong lived experience, clearly evidenced."
PHONE = "07700 900123"
ADJUSTMENT = "Needs step-free access and large print"

# (email name, full name, organisation, answer) of the three applicants, in panel order.
SHORTLIST_APPLICANTS = (
    ("amara", "Amara Okafor", "Black Justice Collective", "I founded a mentoring scheme."),
    ("ben", "Ben Ng", "Howard League", "I chair a tenants' forum."),
    ("cara", "Cara Doyle", "Doyle Trust", "I volunteer at a food bank."),
)


@dataclass
class Shortlisted:
    setup: RoundSetup
    first: int  # rank 1: Amara
    second: int  # rank 2: Ben
    unlisted: int  # submitted, not shortlisted: Cara
    member_user: int
    member: int
    chair_user: int
    chair: int


async def make_shortlisted(
    stage: RoundStage | str = RoundStage.shortlisted,
    title: str = "Racial equity lead",
    domain: str = "applicant.example",
) -> Shortlisted:
    """A closed round with three submitted applications, a ready chair and member who
    scored and submitted all three (COMMENT on the first), a CV for the first, and two
    on a confirmed shortlist; then the round is moved on to `stage`.

    The shortlist is written directly, with its applications moved through
    `transition_application` and the round through `transition_round`:
    `confirm_shortlist` would also queue the pack mails, which the pack's own tests
    send. A `stage` before scoring is set directly (no admin can go back)."""
    setup = await make_round(stage="scoring", title=title, slug=title.lower().replace(" ", "-"))
    first, second, unlisted = [
        await add_application(
            setup,
            email=f"{email}@{domain}",
            name=name,
            organisation=organisation,
            job_title="Director",
            panel_number=number,
            text=text,
            phone=PHONE,
            adjustments=ADJUSTMENT,
        )
        for number, (email, name, organisation, text) in enumerate(SHORTLIST_APPLICANTS, 1)
    ]
    chair_user, chair = await add_panel_member(
        setup, email=f"chair{setup.round_id}@panel.example", name="Chidi Chair", role="chair"
    )
    member_user, member = await add_panel_member(
        setup, email=f"pat{setup.round_id}@panel.example", name="Pat Panel"
    )
    for member_id in (chair, member):
        for app_id in (first, second, unlisted):
            value, comment = (3, COMMENT) if app_id == first else (2, "")
            comments = {c: comment for c in setup.criteria} if comment else {}
            await score_application(member_id, app_id, [value] * len(setup.criteria), comments)
    await add_document(first, filename="amara-cv.pdf", data=PDF)
    await confirm_list(setup, [(first, 7.5), (second, 6.0)], proposed_by=chair_user)
    if RoundStage(stage) is RoundStage.collecting:
        await set_stage(setup.round_id, stage)
    else:
        await advance_round(setup.round_id, stage)
    return Shortlisted(setup, first, second, unlisted, member_user, member, chair_user, chair)


async def confirm_list(
    setup: RoundSetup, ranked: list[tuple[int, float]], *, proposed_by: int | None = None
) -> None:
    """A confirmed top-N shortlist of these (application, total) in rank order, its
    applications moved to shortlisted through `transition_application`. The round's
    stage is left to the caller (`advance_round`)."""
    t = clock()
    async with db.write_transaction():
        rows = await Shortlist.insert(
            Shortlist(
                round=setup.round_id,
                method="top_n",
                top_n=len(ranked),
                proposed_by=proposed_by,
                proposed_at=t,
                confirmed_at=t,
            )
        ).returning(Shortlist.id)
        for rank, (app_id, total) in enumerate(ranked, start=1):
            await ShortlistEntry.insert(
                ShortlistEntry(shortlist=rows[0]["id"], application=app_id, rank=rank, total=total)
            )
        await transition_application(
            [app_id for app_id, _ in ranked],
            ApplicationStatus.shortlisted,
            t,
            only_from=[ApplicationStatus.submitted],
        )
