"""Scoring rules without HTTP: panel numbers, the scale, the scoring window, saving,
submitting, reopening, closing, the queue, others' scores, progress and concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from portal import db
from portal.domain.audit import Actor
from portal.domain.errors import Conflict, NotFound, ValidationErrors
from portal.domain.panels.access import membership
from portal.domain.rounds.panel_numbers import assign_panel_numbers
from portal.domain.rounds.phase import RoundStage
from portal.domain.rounds.stages import transition_round
from portal.domain.scoring.oversight import close_scoring, progress, reopen_sheet
from portal.domain.scoring.queries import member_queue, others_scores, panel_application
from portal.domain.scoring.rules import (
    ScoringClosed,
    SheetStatus,
    SheetSubmitted,
    scale_points,
    scoring_window,
)
from portal.domain.scoring.sheets import save_scores, submit_sheet
from portal.tables import Application, AuditEvent, PanelConflict, Round, Score, ScoreSheet
from tests.factories import (
    add_application,
    add_panel_member,
    make_round,
    make_user,
    now,
    run,
    set_stage,
    write,
)


async def _member(user_id: int, round_id: int) -> dict:
    return await membership(user_id, round_id)


def member_of(user_id: int, round_id: int) -> dict:
    return run(_member(user_id, round_id))


async def _scoring_round(n: int = 3, **kwargs):
    setup = await make_round(stage="scoring", **kwargs)
    for i in range(n):
        await add_application(
            setup,
            email=f"app{i}@example.org",
            name=f"Applicant Person {i}",
            organisation=f"Org {i}",
            panel_number=i + 1,
        )
    a_user, _ = await add_panel_member(setup, email="mo@example.org", name="Mo Member")
    b_user, _ = await add_panel_member(setup, email="bea@example.org", name="Bea Member")
    c_user, _ = await add_panel_member(
        setup, email="chris@example.org", name="Chris Chair", role="chair"
    )
    return setup, a_user, b_user, c_user


@pytest.fixture
def scoring(settings):
    setup, a, b, c = run(_scoring_round())
    return (
        setup,
        member_of(a, setup.round_id),
        member_of(b, setup.round_id),
        member_of(c, setup.round_id),
        c,
    )


def actor(user_id: int) -> Actor:
    return Actor(user_id=user_id, label=f"user {user_id}")


# ---- Panel numbers ----------------------------------------------------------------


def test_moving_to_scoring_gives_shuffled_unique_panel_numbers_to_submitted_only(settings):
    async def go():
        setup = await make_round()
        for i in range(6):
            await add_application(setup, email=f"s{i}@example.org", name=f"S {i}")
        draft = await add_application(setup, email="d@example.org", name="D", status="draft")
        gone = await add_application(setup, email="w@example.org", name="W", status="withdrawn")
        admin = await make_user("admin@example.org", "Admin", role="admin")
        async with db.write_transaction():
            await transition_round(setup.round_id, RoundStage.scoring, actor(admin), now())
        rows = await Application.select(Application.id, Application.panel_number).where(
            Application.round == setup.round_id
        )
        return setup, {r["id"]: r["panel_number"] for r in rows}, draft, gone

    setup, numbers, draft, gone = run(go())
    assert numbers[draft] is None and numbers[gone] is None
    given = [n for i, n in numbers.items() if i not in (draft, gone)]
    assert sorted(given) == [1, 2, 3, 4, 5, 6]

    async def again():
        async with db.write_transaction():
            return await assign_panel_numbers(setup.round_id)

    assert run(again()) == 0  # stable: nothing renumbered
    rows = run(Application.select(Application.id, Application.panel_number))
    assert {r["id"]: r["panel_number"] for r in rows} == numbers


def test_panel_numbers_continue_after_those_already_given(settings):
    async def go():
        setup = await make_round(stage="scoring")
        await add_application(setup, email="a@example.org", name="A", panel_number=2)
        late = await add_application(setup, email="b@example.org", name="B")
        async with db.write_transaction():
            assert await assign_panel_numbers(setup.round_id) == 1
        return (await Application.select().where(Application.id == late).first())["panel_number"]

    assert run(go()) == 3


# ---- Scale and window ----------------------------------------------------------------


def test_scale_points_defaults_numbers_and_custom_labels():
    default = scale_points({"scale_max": 4, "scale_labels": ""})
    assert [(p.value, p.label) for p in default][0] == (0, "No evidence")
    assert default[4].label == "Strong evidence"
    assert [p.label for p in scale_points({"scale_max": 6, "scale_labels": ""})] == [""] * 7
    custom = scale_points({"scale_max": 2, "scale_labels": "None\n\nSome\nLots\n"})
    assert [(p.value, p.label) for p in custom] == [(0, "None"), (1, "Some"), (2, "Lots")]


def test_scoring_window_states_when_it_closed():
    t = now()
    base = {"timezone": "Europe/London", "stage_changed_at": None, "scoring_deadline": None}
    assert not scoring_window({**base, "stage": "collecting"}, t).is_open
    assert scoring_window({**base, "stage": "scoring"}, t).is_open
    late = scoring_window(
        {**base, "stage": "scoring", "scoring_deadline": t - timedelta(hours=1)}, t
    )
    assert not late.is_open and late.message.startswith("Scoring closed at ")
    assert "(UK time)" in late.message
    moved = scoring_window({**base, "stage": "shortlisted", "stage_changed_at": t}, t)
    assert not moved.is_open and "moved on to shortlisted" in moved.message


# ---- Saving, validation, submitting --------------------------------------------------


def test_save_then_submit_then_save_again_is_refused(scoring):
    setup, a, _, _, _ = scoring
    app = setup.applications[0]
    c1, c2 = setup.criteria
    write(lambda: save_scores(a, app, {c1: 3}, {c1: "Clear evidence"}, now()))
    with pytest.raises(ValidationErrors) as missing:
        write(lambda: submit_sheet(a, app, actor(a["user"]), now()))
    assert f"score_{c2}" in missing.value.errors
    write(lambda: save_scores(a, app, {c2: "2"}, {}, now()))
    assert write(lambda: submit_sheet(a, app, actor(a["user"]), now())) is True
    assert write(lambda: submit_sheet(a, app, actor(a["user"]), now())) is False  # double click
    with pytest.raises(SheetSubmitted) as refused:
        write(lambda: save_scores(a, app, {c1: 4}, {}, now()))
    assert "ask the chair to reopen" in refused.value.message
    scores = run(Score.select(Score.criterion, Score.value, Score.comment))
    assert {(s["criterion"], s["value"], s["comment"]) for s in scores} == {
        (c1, 3, "Clear evidence"),
        (c2, 2, ""),
    }
    events = run(AuditEvent.select().where(AuditEvent.action == "scoring.sheet_submitted"))
    assert len(events) == 1


@pytest.mark.parametrize(
    ("values", "comments", "field"),
    [
        ({"c1": 5}, {}, "score_c1"),
        ({"c1": -1}, {}, "score_c1"),
        ({"c1": "three"}, {}, "score_c1"),
        ({"c1": "2.5"}, {}, "score_c1"),
        ({"c1": True}, {}, "score_c1"),
        ({"c1": ["1", "2"]}, {}, "score_c1"),
        ({"c1": "99999999999999999999"}, {}, "score_c1"),
        ({}, {"c1": "x" * 10_000}, "comment_c1"),
        ({}, {"c1": "nul\x00byte"}, "comment_c1"),
        ({}, {"c1": 12}, "comment_c1"),
        ({999_999: 1}, {}, "form"),
    ],
)
def test_hostile_scores_are_refused_and_nothing_saved_is_lost(scoring, values, comments, field):
    setup, a, _, _, _ = scoring
    app = setup.applications[0]
    c1, _ = setup.criteria
    write(lambda: save_scores(a, app, {c1: 1}, {c1: "kept"}, now()))
    key = {"c1": c1}
    values = {key.get(k, k): v for k, v in values.items()}
    comments = {key.get(k, k): v for k, v in comments.items()}
    with pytest.raises(ValidationErrors) as refused:
        write(lambda: save_scores(a, app, values, comments, now()))
    assert field.replace("c1", str(c1)) in refused.value.errors
    rows = run(Score.select(Score.value, Score.comment))
    assert rows == [{"value": 1, "comment": "kept"}]


def test_another_seats_criterion_and_too_many_criteria_are_refused(settings, scoring):
    setup, a, _, _, _ = scoring
    other = run(make_round(slug="other-seat", weights=(1, 1, 1)))
    app = setup.applications[0]
    with pytest.raises(ValidationErrors) as foreign:
        write(lambda: save_scores(a, app, {other.criteria[0]: 1}, {}, now()))
    assert "not one of this seat's criteria" in foreign.value.errors["form"]
    too_many = dict.fromkeys([*setup.criteria, *other.criteria], 1)
    with pytest.raises(ValidationErrors) as many:
        write(lambda: save_scores(a, app, too_many, {}, now()))
    assert "This seat has 2 criteria" in many.value.errors["form"]
    assert run(ScoreSheet.count()) == 0


def test_saving_after_scoring_closed_is_refused_with_when(scoring):
    setup, a, _, chair, chair_user = scoring
    app = setup.applications[0]
    write(lambda: save_scores(a, app, {setup.criteria[0]: 2}, {}, now()))
    write(lambda: close_scoring(setup.round_id, actor(chair_user), now()))
    with pytest.raises(ScoringClosed) as refused:
        write(lambda: save_scores(a, app, {setup.criteria[0]: 4}, {}, now() + timedelta(seconds=1)))
    assert refused.value.message.startswith("Scoring closed at ")
    assert run(Score.select(Score.value)) == [{"value": 2}]
    rnd = run(Round.select().where(Round.id == setup.round_id).first())
    assert rnd["scoring_deadline"] is not None
    assert run(AuditEvent.count().where(AuditEvent.action == "scoring.closed")) == 1
    with pytest.raises(ScoringClosed):  # closing twice
        write(lambda: close_scoring(setup.round_id, actor(chair_user), now()))


def test_only_the_chair_or_an_admin_closes_and_reopens(scoring):
    setup, a, b, chair, chair_user = scoring
    app = setup.applications[0]
    write(lambda: save_scores(a, app, dict.fromkeys(setup.criteria, 3), {}, now()))
    write(lambda: submit_sheet(a, app, actor(a["user"]), now()))
    sheet_id = run(ScoreSheet.select(ScoreSheet.id).first())["id"]
    with pytest.raises(NotFound):
        write(lambda: reopen_sheet(setup.round_id, sheet_id, actor(b["user"]), now()))
    with pytest.raises(NotFound):
        write(lambda: close_scoring(setup.round_id, actor(a["user"]), now()))
    other = run(make_round(slug="elsewhere"))
    with pytest.raises(NotFound):  # the sheet is not in that round
        write(lambda: reopen_sheet(other.round_id, sheet_id, actor(chair_user), now()))
    write(lambda: reopen_sheet(setup.round_id, sheet_id, actor(chair_user), now()))
    sheet = run(ScoreSheet.select().first())
    assert sheet["submitted_at"] is None and sheet["reopened_by"] == chair_user
    with pytest.raises(Conflict):  # nothing to reopen now
        write(lambda: reopen_sheet(setup.round_id, sheet_id, actor(chair_user), now()))
    write(lambda: save_scores(a, app, {setup.criteria[0]: 1}, {}, now()))  # the member changes it
    write(lambda: submit_sheet(a, app, actor(a["user"]), now()))
    admin = run(make_user("root@example.org", "Root", role="admin"))
    write(lambda: reopen_sheet(setup.round_id, sheet_id, actor(admin), now()))
    actions = [
        e["action"] for e in run(AuditEvent.select().where(AuditEvent.subject_id == sheet_id))
    ]
    assert actions.count("scoring.sheet_reopened") == 2


def test_others_scores_only_after_own_submission(scoring):
    setup, a, b, _, _ = scoring
    app = setup.applications[0]
    full = dict.fromkeys(setup.criteria, 2)
    write(lambda: save_scores(b, app, full, {setup.criteria[0]: "Bea thinks so"}, now()))
    write(lambda: submit_sheet(b, app, actor(b["user"]), now()))
    with pytest.raises(Conflict):
        run(others_scores(a, app))
    view = run(panel_application(a, app, now()))
    assert view.others is None
    write(lambda: save_scores(a, app, full, {}, now()))
    write(lambda: submit_sheet(a, app, actor(a["user"]), now()))
    others = run(others_scores(a, app))
    assert [o["name"] for o in others] == ["Bea Member"]
    assert others[0]["scores"][setup.criteria[0]]["comment"] == "Bea thinks so"
    assert run(panel_application(a, app, now())).others == others

    async def conflict():  # Bea declares a conflict after scoring: her sheet stops counting
        async with db.write_transaction():
            await PanelConflict.insert(PanelConflict(member=b["id"], application=app, kind="other"))

    run(conflict())
    assert run(others_scores(a, app)) == []


def test_queue_labels_statuses_conflicts_and_next(scoring):
    setup, a, _, _, _ = scoring
    first, second, third = setup.applications

    async def conflict():
        async with db.write_transaction():
            await PanelConflict.insert(
                PanelConflict(member=a["id"], application=second, kind="personal")
            )

    run(conflict())
    write(lambda: save_scores(a, first, {setup.criteria[0]: 1}, {}, now()))
    queue = run(member_queue(a, now()))
    assert [(i.application_id, i.label, i.status) for i in queue.items] == [
        (first, "Applicant 1", SheetStatus.in_progress),
        (third, "Applicant 3", SheetStatus.not_started),
    ]
    assert queue.next_unfinished(after=first).application_id == third
    assert queue.next_unfinished(after=third).application_id == first
    with pytest.raises(NotFound):
        run(panel_application(a, second, now()))
    with pytest.raises(NotFound):
        write(lambda: save_scores(a, second, {setup.criteria[0]: 1}, {}, now()))


def test_queue_names_applicants_in_a_round_that_is_not_anonymised(settings):
    setup, a, _, _ = run(_scoring_round(2, anonymised=False))
    queue = run(member_queue(member_of(a, setup.round_id), now()))
    assert [i.label for i in queue.items] == ["Applicant Person 0", "Applicant Person 1"]
    view = run(panel_application(member_of(a, setup.round_id), setup.applications[0], now()))
    assert view.identity.name == "Applicant Person 0" and view.identity.organisation == "Org 0"
    assert not hasattr(view.identity, "email")


def test_progress_counts_per_member(scoring):
    setup, a, b, _, _ = scoring
    full = dict.fromkeys(setup.criteria, 4)
    write(lambda: save_scores(a, setup.applications[0], full, {}, now()))
    write(lambda: submit_sheet(a, setup.applications[0], actor(a["user"]), now()))
    write(lambda: save_scores(a, setup.applications[1], full, {}, now()))
    write(lambda: save_scores(b, setup.applications[0], {setup.criteria[0]: 1}, {}, now()))
    rows = {p.name: p for p in run(progress(setup.round_id))}
    assert (rows["Mo Member"].assigned, rows["Mo Member"].scored, rows["Mo Member"].submitted) == (
        3,
        2,
        1,
    )
    assert [s["label"] for s in rows["Mo Member"].sheets] == ["Applicant 1"]
    assert (rows["Bea Member"].scored, rows["Bea Member"].submitted) == (0, 0)
    assert rows["Chris Chair"].role == "chair"


def test_scoring_is_not_open_before_the_round_moves_to_scoring(scoring):
    setup, a, _, _, _ = scoring
    run(set_stage(setup.round_id, "collecting"))
    with pytest.raises(ScoringClosed):
        write(lambda: save_scores(a, setup.applications[0], {setup.criteria[0]: 1}, {}, now()))
    assert run(member_queue(a, now())).items == []


def test_two_members_saving_at_once_lose_nothing(scoring):
    setup, a, b, chair, _ = scoring
    app = setup.applications[0]
    c1, c2 = setup.criteria

    async def save(member, values, comments):
        async with db.write_transaction():
            await save_scores(member, app, values, comments, now())

    async def together():
        await asyncio.gather(
            save(a, {c1: 1, c2: 2}, {c1: "from Mo"}),
            save(b, {c1: 3, c2: 4}, {c1: "from Bea"}),
            save(chair, {c1: 0}, {}),
            save(chair, {c2: 4}, {c2: "chair again"}),  # the same member, twice at once
        )

    run(together())
    rows = run(
        Score.select(
            Score.sheet.member.user.name.as_alias("name"),
            Score.criterion,
            Score.value,
            Score.comment,
        )
    )
    got = {(r["name"], r["criterion"]): (r["value"], r["comment"]) for r in rows}
    assert got == {
        ("Mo Member", c1): (1, "from Mo"),
        ("Mo Member", c2): (2, ""),
        ("Bea Member", c1): (3, "from Bea"),
        ("Bea Member", c2): (4, ""),
        ("Chris Chair", c1): (0, ""),
        ("Chris Chair", c2): (4, "chair again"),
    }
    assert run(ScoreSheet.count()) == 3
