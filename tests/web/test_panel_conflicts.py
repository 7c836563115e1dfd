"""Conflicts of interest through the pages: a member declares one and loses sight of the
application; the chair (or an admin) sees the panel's conflicts, anonymised while the
sift is, and may rule one minor with a reason, after which the member sees it again."""

from __future__ import annotations

from portal.tables import AuditEvent, PanelConflict
from tests.conftest import post_form
from tests.factories import (
    PASSWORD,
    add_application,
    add_panel_member,
    advance_round,
    confirm_list,
    make_round,
    panel_numbers,
    run,
)


def sign_in(client, email):
    response = post_form(
        client, "/account/sign-in", {"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code in (302, 303), response.text


def scoring_round(**kwargs):
    """A round in scoring with two applications (Applicant 7 and 8), a ready chair and member."""
    setup = run(make_round(**kwargs))
    run(
        add_application(
            setup,
            email="ann@example.org",
            name="Ann Applicant",
            organisation="Nacro",
            panel_number=7,
        )
    )
    run(add_application(setup, email="ben@example.org", name="Ben Applicant", panel_number=8))
    run(advance_round(setup.round_id, "scoring"))
    _, chair_id = run(
        add_panel_member(setup, email="cass@example.org", name="Cass Chair", role="chair")
    )
    _, member_id = run(add_panel_member(setup, email="mo@example.org", name="Mo Member"))
    return setup, chair_id, member_id


def conflict_path(setup, index=0):
    number = run(panel_numbers(setup))[index]  # panel URLs carry the number, not the id
    return f"/panel/rounds/{setup.round_id}/applications/{number}/conflict"


def declare(client, setup, kind="personal", note="We worked together.", index=0, **kw):
    return post_form(client, conflict_path(setup, index), {"kind": kind, "note": note}, **kw)


def test_member_declares_a_conflict_and_loses_sight_of_the_application(client):
    setup, _, member_id = scoring_round()
    sign_in(client, "mo@example.org")
    page = client.get(conflict_path(setup))
    assert page.status_code == 200
    assert "I have a conflict with Applicant 7" in page.text
    assert "Ann Applicant" not in page.text  # anonymised round
    done = declare(client, setup, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/panel?done=conflict"
    assert "Your conflict is recorded" in client.get("/panel?done=conflict").text
    [row] = run(PanelConflict.select().where(PanelConflict.member == member_id))
    assert row["kind"] == "personal" and row["source"] == "declared"
    assert row["note"] == "We worked together." and row["decision"] == "excluded"
    assert client.get(conflict_path(setup)).status_code == 404
    again = client.post(conflict_path(setup), data={"kind": "personal"})
    assert again.status_code in (403, 404)  # no CSRF token or not visible: refused either way
    assert client.get(conflict_path(setup, 1)).status_code == 200  # the other one is still there
    assert run(AuditEvent.count().where(AuditEvent.action == "panel.conflict_declared")) == 1


def test_conflict_form_refuses_bad_kind_and_long_note(client):
    setup, _, member_id = scoring_round()
    sign_in(client, "mo@example.org")
    bad = declare(client, setup, kind="grudge")
    assert bad.status_code == 400 and "Choose what kind of conflict" in bad.text
    assert 'href="#kind"' in bad.text
    long = declare(client, setup, note="n" * 2001)
    assert long.status_code == 400 and "under 2000 characters" in long.text
    assert "n" * 2001 in long.text  # kept to shorten, not lost
    control = declare(client, setup, note="bad\x00note")
    assert control.status_code == 400
    assert run(PanelConflict.count().where(PanelConflict.member == member_id)) == 0
    ok = declare(client, setup, kind="other", note="", follow_redirects=False)
    assert ok.status_code == 303


def test_conflict_page_refuses_other_rounds_unready_and_removed_members(client, make_client):
    setup, _, _ = scoring_round(slug="round-x")
    other = run(make_round(slug="round-y"))
    run(add_application(other, email="zed@example.org", name="Zed", panel_number=1))
    run(advance_round(other.round_id, "scoring"))
    sign_in(client, "mo@example.org")
    # An application of another round, through this round's URL or the other's.
    assert client.get(f"/panel/rounds/{setup.round_id}/applications/1/conflict").status_code == 404
    assert client.get(f"/panel/rounds/{other.round_id}/applications/1/conflict").status_code == 404
    assert (
        client.get(f"/panel/rounds/{setup.round_id}/applications/99999999999/conflict").status_code
        == 404
    )
    # A member who has not declared yet: application URLs are 404.
    run(add_panel_member(setup, email="nu@example.org", name="New Member", ready=False))
    newcomer = make_client()
    sign_in(newcomer, "nu@example.org")
    assert newcomer.get(conflict_path(setup)).status_code == 404


def test_removed_member_gets_404(admin_client, make_client):
    setup, _, member_id = scoring_round()
    member = make_client()
    sign_in(member, "mo@example.org")
    assert member.get(conflict_path(setup)).status_code == 200
    post_form(
        admin_client,
        f"/admin/rounds/{setup.round_id}/panel/members/{member_id}/remove",
        {},
        token_from=f"/admin/rounds/{setup.round_id}/panel",
    )
    assert member.get(conflict_path(setup)).status_code == 404


def test_only_the_chair_sees_the_conflicts_list(client, make_client):
    setup, _, _ = scoring_round()
    sign_in(client, "mo@example.org")
    declare(client, setup)
    assert client.get(f"/panel/rounds/{setup.round_id}/conflicts").status_code == 404
    chair = make_client()
    sign_in(chair, "cass@example.org")
    page = chair.get(f"/panel/rounds/{setup.round_id}/conflicts")
    assert page.status_code == 200
    assert "Mo Member" in page.text and "Applicant 7" in page.text
    assert "We worked together." in page.text and "Personal" in page.text
    assert "Ann Applicant" not in page.text and "ann@example.org" not in page.text
    home = chair.get("/panel")
    assert f"/panel/rounds/{setup.round_id}/conflicts" in home.text


def test_chair_rules_a_conflict_minor_and_the_member_sees_it_again(client, make_client):
    setup, chair_id, member_id = scoring_round()
    sign_in(client, "mo@example.org")
    declare(client, setup)
    chair = make_client()
    sign_in(chair, "cass@example.org")
    number = 7  # Ann's panel number: chair URLs never carry application ids
    rule_path = f"/panel/rounds/{setup.round_id}/conflicts/{member_id}/{number}"
    form = chair.get(rule_path)
    assert form.status_code == 200 and "Why is this conflict minor?" in form.text
    empty = post_form(chair, rule_path, {"reason": "  "})
    assert empty.status_code == 400 and "Enter the reason" in empty.text
    long = post_form(chair, rule_path, {"reason": "r" * 2001})
    assert long.status_code == 400 and "under 2000 characters" in long.text
    assert client.get(conflict_path(setup)).status_code == 404
    done = post_form(
        chair, rule_path, {"reason": "Worked together ten years ago."}, follow_redirects=False
    )
    assert done.status_code == 303
    listing = chair.get(done.headers["location"])
    assert "ruled minor" in listing.text and "Worked together ten years ago." in listing.text
    [row] = run(PanelConflict.select().where(PanelConflict.member == member_id))
    assert row["decision"] == "minor" and row["decided_at"] is not None
    assert row["decision_reason"] == "Worked together ten years ago."
    assert row["decided_by"] is not None
    events = run(AuditEvent.select().where(AuditEvent.action == "panel.conflict_ruled_minor"))
    assert len(events) == 1 and events[0]["round"] == setup.round_id
    assert client.get(conflict_path(setup)).status_code == 200  # visible again
    again = post_form(chair, rule_path, {"reason": "Again."}, token_from="/account/sign-in")
    assert again.status_code == 400 and "already been ruled minor" in again.text


def test_chair_cannot_rule_on_their_own_conflict_or_other_rounds(client, make_client):
    setup, chair_id, member_id = scoring_round(slug="round-a")
    other = run(make_round(slug="round-b"))
    run(add_application(other, email="zed@example.org", name="Zed", panel_number=1))
    _, other_member = run(add_panel_member(other, email="oz@example.org", name="Oz Other"))
    sign_in(client, "cass@example.org")
    declare(client, setup)
    number = 7
    own = f"/panel/rounds/{setup.round_id}/conflicts/{chair_id}/{number}"
    assert "You cannot rule on it" in client.get(own).text
    refused = post_form(client, own, {"reason": "It is fine."}, token_from="/account/sign-in")
    assert refused.status_code == 400 and "cannot rule on your own conflict" in refused.text
    # The same chair's URL pointing at another round's member or application: 404.
    assert (
        client.get(f"/panel/rounds/{setup.round_id}/conflicts/{other_member}/{number}").status_code
        == 404
    )
    assert client.get(f"/panel/rounds/{setup.round_id}/conflicts/{member_id}/1").status_code == 404


def test_organisation_conflicts_show_without_naming_and_names_after_shortlist(client, make_client):
    setup, _, member_id = scoring_round()
    sign_in(client, "mo@example.org")
    post_form(
        client,
        f"/panel/rounds/{setup.round_id}/declarations",
        {"confidentiality": "1", "organisations": "nacro"},
    )
    assert client.get(conflict_path(setup)).status_code == 404  # Ann is from Nacro
    chair = make_client()
    sign_in(chair, "cass@example.org")
    page = chair.get(f"/panel/rounds/{setup.round_id}/conflicts")
    assert "Applicant 7" in page.text and "An organisation the member declared" in page.text
    assert "Nacro" not in page.text and "Ann Applicant" not in page.text
    run(confirm_list(setup, [(setup.applications[0], 8.0)]))  # Ann, not Ben, shortlisted
    run(advance_round(setup.round_id, "shortlisted"))
    page = chair.get(f"/panel/rounds/{setup.round_id}/conflicts")
    assert "Ann Applicant" in page.text


def test_admin_sees_conflicts_with_names_and_can_rule(admin_client, make_client):
    setup, _, member_id = scoring_round()
    member = make_client()
    sign_in(member, "mo@example.org")
    declare(member, setup, kind="financial", note="We fund them.")
    page = admin_client.get(f"/admin/rounds/{setup.round_id}/panel")
    assert "Applicant 7 (Ann Applicant)" in page.text and "We fund them." in page.text
    row = page.text[page.text.index("mo@example.org") :]
    assert "<td>1</td>" in row[:600]  # conflicts count
    app_id = setup.applications[0]
    path = f"/admin/rounds/{setup.round_id}/panel/conflicts/{member_id}/{app_id}"
    assert f'href="{path}"' in page.text
    assert admin_client.get(path).status_code == 200
    assert post_form(admin_client, path, {"reason": ""}).status_code == 400
    done = post_form(admin_client, path, {"reason": "Small grant, ended."}, follow_redirects=False)
    assert done.status_code == 303
    assert run(PanelConflict.select(PanelConflict.decision).first())["decision"] == "minor"
    assert member.get(conflict_path(setup)).status_code == 200
    assert (
        admin_client.get(
            f"/admin/rounds/{setup.round_id}/panel/conflicts/{member_id}/99999999999"
        ).status_code
        == 404
    )
