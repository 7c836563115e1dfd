"""Scoring through the pages: the member's queue, an application with the score form,
the chair's progress page; who may see what (every refusal a 404), what an anonymised
panel never sees, and hostile input."""

from __future__ import annotations

import re

import pytest

from portal import db
from portal.tables import Application, PanelConflict, PanelMember, Round, Score, ScoreSheet, User
from tests.conftest import form_token, post_form
from tests.factories import (
    PASSWORD,
    add_application,
    add_panel_member,
    make_round,
    panel_number,
    run,
    set_stage,
)


def sign_in_member(client, email: str) -> None:
    response = post_form(
        client, "/account/sign-in", {"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code in (302, 303), response.text


async def _identify(user_id: int) -> None:
    async with db.write_transaction():
        await User.update(
            {
                User.job_title: "Director of Everything",
                User.phone: "07700 900123",
                User.adjustments: "Needs large print",
            }
        ).where(User.id == user_id)


async def _round(anonymised: bool = True):
    setup = await make_round(stage="scoring", anonymised=anonymised, title="Racial equity lead")
    for i, (name, org) in enumerate(
        [("Zadie Quill", "Quill Foundation"), ("Yusuf Marsh", "Marsh Trust"), ("Xena Poole", "")]
    ):
        await add_application(
            setup,
            email=f"{name.split()[0].lower()}@applicant.example",
            name=name,
            organisation=org,
            panel_number=i + 1,
            text=f"Answer number {i + 1}: what I did and why.",  # the factory's default names them
        )
    for user_id in setup.applicants:
        await _identify(user_id)
    # Numbered although no real round numbers them, so the status rule is what refuses them.
    draft = await add_application(
        setup, email="draft@applicant.example", name="Dora Draft", status="draft", panel_number=8
    )
    gone = await add_application(
        setup,
        email="gone@applicant.example",
        name="Walt Withdrawn",
        status="withdrawn",
        panel_number=9,
    )
    await add_panel_member(setup, email="mo@panel.example", name="Mo Member")
    await add_panel_member(setup, email="bea@panel.example", name="Bea Member")
    await add_panel_member(setup, email="chair@panel.example", name="Chris Chair", role="chair")
    await add_panel_member(setup, email="new@panel.example", name="Nell New", ready=False)
    return setup, draft, gone


@pytest.fixture
def panel(settings):
    return run(_round())


@pytest.fixture
def as_user(make_client):
    def make(email: str):
        client = make_client()
        sign_in_member(client, email)
        return client

    return make


def page(round_id: int, app_id: int) -> str:
    """The application's scoring page: panel URLs carry its panel number, never its id."""
    return f"/panel/rounds/{round_id}/applications/{run(panel_number(app_id))}"


def score_form(setup, values: dict[int, str], comments: dict[int, str] | None = None, **extra):
    data = {f"score_{setup.criteria[i]}": v for i, v in values.items()}
    data.update({f"comment_{setup.criteria[i]}": v for i, v in (comments or {}).items()})
    return {**data, **extra}


def submit(client, setup, app: int, values, comments=None, **kwargs):
    """Save with "Submit score sheet", which asks to confirm first, then confirm."""
    target = page(setup.round_id, app)
    asked = post_form(client, target, score_form(setup, values, comments, action="submit"))
    if asked.status_code != 200 or "Submit your score sheet for" not in asked.text:
        return asked  # refused before the confirmation (a save that failed)
    return post_form(client, f"{target}/submit", {}, token_from=f"{target}/submit", **kwargs)


def saved_scores(email: str) -> dict[int, tuple]:
    rows = run(
        Score.select(Score.criterion, Score.value, Score.comment).where(
            Score.sheet.member.user.email == email
        )
    )
    return {r["criterion"]: (r["value"], r["comment"]) for r in rows}


# ---- Pages that work -----------------------------------------------------------------


def test_queue_shows_anonymised_labels_statuses_and_progress(panel, as_user):
    setup, _, _ = panel
    mo = as_user("mo@panel.example")
    queue = mo.get(f"/panel/rounds/{setup.round_id}/scoring")
    assert queue.status_code == 200
    assert "Applicant 1" in queue.text and "Applicant 3" in queue.text
    assert "0 of 3 scored" in queue.text and "Not started" in queue.text
    references = [
        r["reference"]
        for r in run(
            Application.select(Application.reference).where(
                (Application.round == setup.round_id) & Application.reference.is_not_null()
            )
        )
    ]
    assert references
    for secret in ("Zadie", "Quill", "zadie@applicant.example", *references, "Dora", "Walt"):
        assert secret not in queue.text
    assert queue.headers["cache-control"] == "no-store"
    target = page(setup.round_id, setup.applications[0])
    done = post_form(mo, target, score_form(setup, {0: "3", 1: "4"}, action="save"))
    assert done.status_code == 200 and "Your scores are saved." in done.text
    queue = mo.get(f"/panel/rounds/{setup.round_id}/scoring")
    assert "1 of 3 scored" in queue.text and "In progress" in queue.text


def test_anonymised_application_page_shows_answers_and_never_identities(panel, as_user):
    setup, _, _ = panel
    mo = as_user("mo@panel.example")
    response = mo.get(page(setup.round_id, setup.applications[0]))
    assert response.status_code == 200
    html = response.text
    assert "<title>Applicant 1" in html
    assert "Question 1?" in html and "Criterion 1" in html and "Evidence of criterion 1." in html
    assert "Strong evidence" in html and "No evidence" in html
    reference = run(
        Application.select(Application.reference)
        .where(Application.id == setup.applications[0])
        .first()
    )["reference"]
    assert "Answer number 1: what I did and why." in html
    for secret in (
        "Zadie",
        "Quill",
        "zadie@applicant.example",
        reference,
        "Director of Everything",
        "07700 900123",
        "Needs large print",
    ):
        assert secret not in html, secret
    hidden = re.findall(r'<input[^>]+type="hidden"[^>]*>', html)
    # Only the CSRF token and what this page showed of the member's own sheet (empty).
    assert all(
        "_csrf_token" in field or re.search(r'name="seen_(score|comment)_\d+" value=""', field)
        for field in hidden
    ), hidden
    assert f"{page(setup.round_id, setup.applications[0])}/conflict" in html


def test_non_anonymised_page_names_the_applicant_but_never_contact_details(settings, as_user):
    setup, _, _ = run(_round(anonymised=False))
    mo = as_user("mo@panel.example")
    html = mo.get(page(setup.round_id, setup.applications[0])).text
    assert "Zadie Quill" in html and "Quill Foundation" in html
    for secret in ("zadie@applicant.example", "07700 900123", "Needs large print"):
        assert secret not in html, secret
    queue = mo.get(f"/panel/rounds/{setup.round_id}/scoring").text
    assert "Zadie Quill" in queue and "zadie@applicant.example" not in queue


def test_save_and_next_goes_to_the_next_unfinished_application(panel, as_user):
    setup, _, _ = panel
    mo = as_user("mo@panel.example")
    first, second, third = setup.applications[:3]
    post_form(mo, page(setup.round_id, second), score_form(setup, {0: "1", 1: "1"}, action="save"))
    response = post_form(
        mo,
        page(setup.round_id, first),
        score_form(setup, {0: "2"}, action="next"),
        follow_redirects=False,
    )
    assert response.status_code == 303
    saved = run(panel_number(first))
    assert response.headers["location"] == page(setup.round_id, third) + f"?saved={saved}"
    arrived = mo.get(response.headers["location"])
    assert f"Your scores for Applicant {saved} are saved." in arrived.text
    assert "Application 3 of" in arrived.text


def test_submit_needs_every_criterion_then_the_sheet_is_read_only_and_others_appear(panel, as_user):
    setup, _, _ = panel
    app = setup.applications[0]
    bea = as_user("bea@panel.example")
    submit(bea, setup, app, {0: "4", 1: "3"}, {0: "Bea's private view"})
    mo = as_user("mo@panel.example")
    before = mo.get(page(setup.round_id, app)).text
    assert "Bea's private view" not in before and "Bea Member" not in before
    incomplete = submit(mo, setup, app, {0: "2"}, {1: "typed"})
    assert incomplete.status_code == 400
    assert "There is a problem" in incomplete.text
    assert f'href="#score_{setup.criteria[1]}"' in incomplete.text
    assert "typed</textarea>" in incomplete.text  # what was entered is shown again
    assert saved_scores("mo@panel.example")[setup.criteria[0]] == (2, "")  # and was saved
    done = submit(mo, setup, app, {0: "2", 1: "1"})
    assert done.status_code == 200
    assert "Your score sheet is submitted" in done.text
    assert "Submit score sheet" not in done.text and 'type="radio"' not in done.text
    assert "Bea Member" in done.text and "Bea&#39;s private view" in done.text
    refused = post_form(
        mo,
        page(setup.round_id, app),
        score_form(setup, {0: "4", 1: "4"}, action="save"),
        token_from="/account",
    )
    assert refused.status_code == 409
    assert "ask the chair to reopen" in refused.text
    assert saved_scores("mo@panel.example")[setup.criteria[0]] == (2, "")


def test_chair_sees_progress_reopens_a_sheet_and_closes_scoring(panel, as_user):
    setup, _, _ = panel
    app = setup.applications[0]
    mo = as_user("mo@panel.example")
    submit(mo, setup, app, {0: "1", 1: "1"})
    chair = as_user("chair@panel.example")
    progress_path = f"/panel/rounds/{setup.round_id}/progress"
    progress = chair.get(progress_path)
    assert progress.status_code == 200
    assert "Mo Member" in progress.text and "Applicant 1" in progress.text
    assert "Zadie" not in progress.text
    sheet_id = run(ScoreSheet.select(ScoreSheet.id).first())["id"]
    reopened = post_form(
        chair,
        f"/panel/rounds/{setup.round_id}/sheets/{sheet_id}/reopen",
        {},
        token_from=progress_path,
    )
    assert reopened.status_code == 200 and "The score sheet is reopened" in reopened.text
    again = mo.get(page(setup.round_id, app)).text
    assert "The chair reopened this score sheet" in again
    assert (
        post_form(
            mo, page(setup.round_id, app), score_form(setup, {0: "4"}, action="save")
        ).status_code
        == 200
    )
    closed = post_form(
        chair, f"/panel/rounds/{setup.round_id}/scoring/close", {}, token_from=progress_path
    )
    assert closed.status_code == 200 and "Scoring is closed" in closed.text
    late = post_form(
        mo,
        page(setup.round_id, app),
        score_form(setup, {0: "0"}, action="save"),
        token_from="/account",
    )
    assert late.status_code == 409
    assert "Scoring closed at " in late.text and "(UK time)" in late.text
    assert saved_scores("mo@panel.example")[setup.criteria[0]] == (4, "")
    assert run(Round.select(Round.scoring_deadline).first())["scoring_deadline"]


def test_admin_sees_progress_from_the_round_page(panel, admin_client):
    setup, _, _ = panel
    detail = admin_client.get(f"/admin/rounds/{setup.round_id}")
    assert f'href="/panel/rounds/{setup.round_id}/progress"' in detail.text
    progress = admin_client.get(f"/panel/rounds/{setup.round_id}/progress")
    assert progress.status_code == 200 and "Chris Chair" in progress.text
    # An admin is not a panel member: no queue of their own.
    assert admin_client.get(f"/panel/rounds/{setup.round_id}/scoring").status_code == 404


# ---- Who may not see what: each a 404 ------------------------------------------------


def _paths(round_id: int, app_id: int) -> list[str]:
    return [f"/panel/rounds/{round_id}/scoring", page(round_id, app_id)]


def test_member_of_another_round_gets_404_everywhere(panel, as_user):
    setup, _, _ = panel
    other = run(make_round(stage="scoring", slug="other-seat"))
    run(add_panel_member(other, email="otto@panel.example", name="Otto Other", role="chair"))
    otto = as_user("otto@panel.example")
    for path in [
        *_paths(setup.round_id, setup.applications[0]),
        f"/panel/rounds/{setup.round_id}/progress",
    ]:
        assert otto.get(path).status_code == 404, path
    token = form_token(otto, f"/panel/rounds/{other.round_id}/progress")
    for path in (
        page(setup.round_id, setup.applications[0]),
        f"/panel/rounds/{setup.round_id}/scoring/close",
    ):
        response = otto.post(path, data={"_csrf_token": token, "action": "save"})
        assert response.status_code == 404, path
    # Round Y's application through round X's address.
    assert otto.get(page(other.round_id, setup.applications[0])).status_code == 404


def test_conflicted_member_gets_404_and_the_application_leaves_the_queue(panel, as_user):
    setup, _, _ = panel
    app = setup.applications[1]

    async def conflict():
        member = (
            await PanelMember.select(PanelMember.id)
            .where(PanelMember.user.email == "mo@panel.example")
            .first()
        )
        async with db.write_transaction():
            await PanelConflict.insert(
                PanelConflict(member=member["id"], application=app, kind="personal")
            )

    run(conflict())
    mo = as_user("mo@panel.example")
    assert mo.get(page(setup.round_id, app)).status_code == 404
    token = form_token(mo, "/account")
    refused = mo.post(
        page(setup.round_id, app), data={"_csrf_token": token, f"score_{setup.criteria[0]}": "3"}
    )
    assert refused.status_code == 404
    queue = mo.get(f"/panel/rounds/{setup.round_id}/scoring").text
    assert "Applicant 2" not in queue
    # Told how many are withheld, so the queue does not look incomplete by mistake.
    assert "1 application is withheld from you because of the conflicts you declared." in queue
    assert run(ScoreSheet.count()) == 0


def test_unready_member_gets_404(panel, as_user):
    setup, _, _ = panel
    nell = as_user("new@panel.example")
    for path in _paths(setup.round_id, setup.applications[0]):
        assert nell.get(path).status_code == 404, path


def test_draft_withdrawn_and_unknown_application_ids_are_404(panel, as_user):
    setup, draft, gone = panel
    mo = as_user("mo@panel.example")
    base = f"/panel/rounds/{setup.round_id}/applications"
    for number in (8, 9, 0, 4, 999_999, 2**40):  # draft, withdrawn, none, unused, overflow
        assert mo.get(f"{base}/{number}").status_code == 404, number
        assert mo.get(f"{base}/{number}/submit").status_code == 404, number
    assert mo.get(f"/panel/rounds/{2**40}/scoring").status_code == 404


def test_applicant_account_gets_404_on_every_scoring_page(panel, as_user):
    setup, _, _ = panel
    zadie = as_user("zadie@applicant.example")
    for path in [
        *_paths(setup.round_id, setup.applications[0]),
        f"/panel/rounds/{setup.round_id}/progress",
    ]:
        assert zadie.get(path).status_code == 404, path


def test_a_plain_member_cannot_use_chair_actions(panel, as_user):
    setup, _, _ = panel
    mo = as_user("mo@panel.example")
    submit(mo, setup, setup.applications[0], {0: "1", 1: "1"})
    sheet_id = run(ScoreSheet.select(ScoreSheet.id).first())["id"]
    assert mo.get(f"/panel/rounds/{setup.round_id}/progress").status_code == 404
    token = form_token(mo, "/account")
    for path in (
        f"/panel/rounds/{setup.round_id}/sheets/{sheet_id}/reopen",
        f"/panel/rounds/{setup.round_id}/scoring/close",
    ):
        assert mo.post(path, data={"_csrf_token": token}).status_code == 404, path
    assert run(ScoreSheet.select(ScoreSheet.submitted_at).first())["submitted_at"]


def test_signed_out_visitor_is_asked_to_sign_in(panel, client):
    setup, _, _ = panel
    assert client.get(f"/panel/rounds/{setup.round_id}/scoring").status_code == 401


def test_before_scoring_starts_the_application_page_says_so(panel, as_user):
    setup, _, _ = panel
    run(set_stage(setup.round_id, "collecting"))
    mo = as_user("mo@panel.example")
    queue = mo.get(f"/panel/rounds/{setup.round_id}/scoring")
    assert queue.status_code == 200 and "Scoring has not started" in queue.text
    assert "Applicant 1" not in queue.text
    assert mo.get(page(setup.round_id, setup.applications[0])).status_code == 409


# ---- Hostile input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "comments", "message"),
    [
        ({0: "7"}, {}, "Choose a score from 0 to 4"),
        ({0: "-1"}, {}, "Choose a score from 0 to 4"),
        ({0: "three"}, {}, "Choose a score from 0 to 4"),
        ({0: "1e3"}, {}, "Choose a score from 0 to 4"),
        ({}, {0: "x" * 10_000}, "keep it to 2,000"),
    ],
)
def test_hostile_scores_are_refused_on_the_page_and_nothing_saved_is_lost(
    panel, as_user, values, comments, message
):
    setup, _, _ = panel
    mo = as_user("mo@panel.example")
    path = page(setup.round_id, setup.applications[0])
    post_form(mo, path, score_form(setup, {0: "2", 1: "3"}, {1: "kept"}, action="save"))
    response = post_form(mo, path, score_form(setup, values, comments, action="save"))
    assert response.status_code == 400
    assert message in response.text and "There is a problem" in response.text
    assert saved_scores("mo@panel.example") == {
        setup.criteria[0]: (2, ""),
        setup.criteria[1]: (3, "kept"),
    }


def test_foreign_criterion_repeated_field_and_junk_fields(panel, as_user):
    setup, _, _ = panel
    other = run(make_round(slug="foreign-seat"))
    mo = as_user("mo@panel.example")
    path = page(setup.round_id, setup.applications[0])
    foreign = post_form(mo, path, {f"score_{other.criteria[0]}": "1", "action": "save"})
    assert foreign.status_code == 400 and "not one of this seat" in foreign.text
    token = form_token(mo, path)
    repeated = mo.post(
        path,
        data={"_csrf_token": token, f"score_{setup.criteria[0]}": ["1", "4"]},
    )
    assert repeated.status_code == 400
    junk = post_form(
        mo,
        path,
        {
            "score_x": "1",
            "member": "1",
            "submitted_at": "now",
            "action": "explode",
            f"score_{'9' * 12}": "1",
        },
    )
    assert junk.status_code == 200  # ignored fields; an unknown action is a plain save
    assert run(Score.count()) == 0 and run(ScoreSheet.count()) == 0


def test_a_round_with_its_own_scale_shows_its_labels_and_refuses_beyond_it(panel, as_user):
    setup, _, _ = panel

    async def rescale():
        async with db.write_transaction():
            await Round.update(
                {Round.scale_max: 2, Round.scale_labels: "Not met\nPartly met\nMet"}
            ).where(Round.id == setup.round_id)

    run(rescale())
    mo = as_user("mo@panel.example")
    path = page(setup.round_id, setup.applications[0])
    html = mo.get(path).text
    assert "2: Met" in html and "Strong evidence" not in html and 'value="3"' not in html
    refused = post_form(mo, path, score_form(setup, {0: "3"}, action="save"))
    assert refused.status_code == 400 and "Choose a score from 0 to 2" in refused.text
    assert post_form(mo, path, score_form(setup, {0: "2"}, action="save")).status_code == 200
    assert saved_scores("mo@panel.example") == {setup.criteria[0]: (2, "")}
