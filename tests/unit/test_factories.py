"""The shared test factories build what they say, the way the domain would (other tests,
the browser seeds, the demo and the benchmarks rely on them)."""

from datetime import timedelta

import pytest

from portal import db
from portal.domain.applications.records import load_application
from portal.domain.applications.submission import has_unsubmitted_changes
from portal.domain.errors import ValidationErrors
from portal.domain.panels.access import membership
from portal.domain.rounds.deadline import DeadlinePassed
from portal.tables import (
    Application,
    AuditEvent,
    PanelConflict,
    PanelMember,
    Round,
    ScoreSheet,
    Seat,
    Statement,
)
from tests.factories import (
    add_application,
    add_panel_member,
    apply,
    make_round,
    make_seat,
    make_user,
    run,
    score_application,
)


def actions() -> list[str]:
    return [e["action"] for e in run(AuditEvent.select(AuditEvent.action).order_by(AuditEvent.id))]


def test_round_with_applications_and_panel(settings) -> None:
    async def build():
        setup = await make_round(weights=(3, 1))
        await add_application(setup, email="a@example.org", name="Ada", panel_number=1)
        await add_application(setup, email="b@example.org", name="Bo", status="draft")
        await add_panel_member(setup, email="p@example.org", name="Pat", role="chair")
        return setup

    setup = run(build())
    statuses = run(
        Application.select(Application.status).where(Application.round == setup.round_id)
    )
    assert sorted(r["status"] for r in statuses) == ["draft", "submitted"]
    assert run(Statement.count().where(Statement.application == setup.applications[0])) == 2
    assert run(PanelMember.count().where(PanelMember.round == setup.round_id)) == 1


def test_a_round_goes_through_the_domain_and_is_moved_on_to_its_stage(settings) -> None:
    setup = run(make_round(stage="scoring"))

    row = run(Round.select().where(Round.id == setup.round_id).first())
    assert row["stage"] == "scoring" and row["stage_changed_at"] is not None
    assert actions() == [
        "seat.created",
        "criterion.added",
        "criterion.added",
        "question.added",
        "seat.published",
        "round.created",
        "round.stage.scoring",
    ]


def test_a_seat_refuses_what_an_admin_would_be_refused(settings) -> None:
    run(make_seat("Racial equity lead"))
    with pytest.raises(ValidationErrors):  # the slug is made from the title, as on the form
        run(make_seat("Racial equity lead"))
    with pytest.raises(ValidationErrors):
        run(make_seat("A seat", slug="another", criteria=[("Expertise", "", 11)]))


def test_a_submitted_application_is_what_the_real_submit_leaves(settings) -> None:
    setup = run(make_round())
    app_id = run(add_application(setup, email="a@example.org", name="Ada"))

    view = run(load_application(app_id, setup.applicants[0]))
    assert view.application["reference"].startswith("SP-")
    assert not has_unsubmitted_changes(view)  # the stored hash is of what is stored


def test_apply_goes_the_applicants_way_and_only_while_open(settings) -> None:
    open_round = run(make_round(opens_at=-timedelta(days=1), closes_at=timedelta(days=1)))
    user_id = run(make_user("a@example.org", "Ada"))

    app_id = run(apply(open_round, user_id))

    row = run(Application.select().where(Application.id == app_id).first())
    assert row["status"] == "submitted" and row["reference"]
    assert "application.submitted" in actions()
    closed = run(make_round())
    with pytest.raises(DeadlinePassed):
        run(apply(closed, user_id))


def test_ready_members_declare_and_score_through_the_domain(settings) -> None:
    setup = run(make_round(stage="scoring"))
    app_id = run(add_application(setup, email="a@example.org", name="Ada", organisation="Nacro"))
    user_id, member_id = run(
        add_panel_member(setup, email="p@example.org", name="Pat", organisations="Clinks")
    )
    _, conflicted = run(
        add_panel_member(setup, email="q@example.org", name="Quin", organisations="NACRO")
    )

    member = run(membership(user_id, setup.round_id))
    assert member["declarations_at"] is not None
    assert run(PanelConflict.count().where(PanelConflict.member == conflicted)) == 1
    run(score_application(member_id, app_id, [3, 2], {setup.criteria[0]: "Clear."}))
    sheet = run(ScoreSheet.select().where(ScoreSheet.member == member_id).first())
    assert sheet["submitted_at"] is not None
    assert {"panel.declarations_made", "scoring.sheet_submitted"} <= set(actions())


def test_a_builder_takes_part_in_the_callers_transaction(settings) -> None:
    async def build_then_fail():
        async with db.write_transaction():
            await make_seat("Never kept")
            raise RuntimeError("the caller gives up")

    with pytest.raises(RuntimeError):
        run(build_then_fail())
    assert run(Seat.count()) == 0
