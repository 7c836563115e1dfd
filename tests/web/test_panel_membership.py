"""Panel membership through the pages: an admin invites, the invitee accepts (new or
existing account), the chair changes, members are removed or re-sent a link, and a
member confirms confidentiality and declares organisations before seeing anything."""

from __future__ import annotations

import re
from datetime import timedelta

from portal.tables import (
    Application,
    AuditEvent,
    OutboxMessage,
    PanelConflict,
    PanelMember,
    PanelOrganisation,
    User,
)
from tests.conftest import post_form
from tests.factories import (
    PASSWORD,
    add_application,
    add_panel_member,
    advance_round,
    make_round,
    make_user,
    now,
    run,
    write,
)

NEW_PASSWORD = "a brand new panel password"


def invite(client, round_id, name="Pat Panel", email="pat@example.org", chair=False, **kw):
    data = {"name": name, "email": email}
    if chair:
        data["chair"] = "1"
    return post_form(
        client,
        f"/admin/rounds/{round_id}/panel/invite",
        data,
        token_from=f"/admin/rounds/{round_id}/panel",
        **kw,
    )


def invitation_mails() -> list[dict]:
    return run(
        OutboxMessage.select()
        .where(OutboxMessage.kind == "panel_invitation")
        .order_by(OutboxMessage.id)
    )


def link_in(row: dict) -> str:
    match = re.search(
        r"http://testserver\.local(/panel/invitations/[A-Za-z0-9_\-]+)", row["body_text"]
    )
    assert match, row["body_text"]
    return match.group(1)


def applicant_sign_in(client, email, password=PASSWORD):
    response = post_form(
        client,
        "/account/sign-in",
        {"email": email, "password": password},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text
    return response


def member_row(email: str) -> dict:
    return run(
        PanelMember.select(PanelMember.all_columns()).where(PanelMember.user.email == email).first()
    )


# ---- Admin: invite, list, chair, remove, resend -------------------------------------


def test_invite_new_address_creates_account_member_and_mail(admin_client):
    setup = run(make_round())
    response = invite(admin_client, setup.round_id, follow_redirects=False)
    assert response.status_code == 303
    page = admin_client.get(response.headers["location"])
    assert "Invitation sent." in page.text
    assert "Pat Panel" in page.text and "pat@example.org" in page.text
    assert "Invited" in page.text
    user = run(User.select().where(User.email == "pat@example.org").first())
    assert user["role"] == "applicant" and user["password_hash"] is None
    member = member_row("pat@example.org")
    assert member["round"] == setup.round_id and member["role"] == "member"
    assert member["token_hash"] and len(member["token_hash"]) == 64
    assert member["accepted_at"] is None
    [mail] = invitation_mails()
    assert mail["recipient"] == "pat@example.org"
    assert "choose a password" in mail["body_text"]
    token = link_in(mail).rsplit("/", 1)[1]
    assert token not in member["token_hash"]  # only the hash is stored
    events = run(AuditEvent.select().where(AuditEvent.action == "panel.invited"))
    assert len(events) == 1 and events[0]["round"] == setup.round_id


def test_round_page_links_to_the_panel(admin_client):
    setup = run(make_round())
    page = admin_client.get(f"/admin/rounds/{setup.round_id}")
    assert f'href="/admin/rounds/{setup.round_id}/panel"' in page.text


def test_new_invitee_accepts_with_a_password_and_is_signed_in(admin_client, make_client):
    setup = run(make_round())
    invite(admin_client, setup.round_id)
    link = link_in(invitation_mails()[0])
    visitor = make_client()
    page = visitor.get(link)
    assert page.status_code == 200
    assert "Choose a password" in page.text and "pat@example.org" in page.text
    short = post_form(visitor, link, {"password": "short", "confirm": "short"})
    assert short.status_code == 400 and "at least 12 characters" in short.text
    assert member_row("pat@example.org")["accepted_at"] is None
    done = post_form(
        visitor, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/panel/rounds/{setup.round_id}/declarations"
    member = member_row("pat@example.org")
    assert member["accepted_at"] is not None
    user = run(User.select().where(User.email == "pat@example.org").first())
    assert user["email_verified_at"] is not None and user["password_hash"]
    home = visitor.get("/panel")
    assert home.status_code == 200 and "Racial equity lead" in home.text
    assert "Make your declarations" in home.text
    # The same link again: used, a clear page with 410.
    again = visitor.get(link)
    assert again.status_code == 410 and "already been accepted" in again.text
    assert post_form(
        visitor, "/account/sign-out", {}, token_from="/account/sign-in"
    ).status_code in (
        200,
        302,
        303,
    )
    # The new password works at the ordinary sign-in.
    applicant_sign_in(visitor, "pat@example.org", NEW_PASSWORD)
    events = run(AuditEvent.select().where(AuditEvent.action == "panel.invitation_accepted"))
    assert len(events) == 1


def test_existing_account_is_reused_and_must_sign_in_to_accept(admin_client, make_client):
    setup = run(make_round())
    existing = run(make_user("rae@example.org", "Rae Existing"))
    invite(admin_client, setup.round_id, name="Rae Other Name", email="RAE@example.org ")
    assert run(User.count().where(User.email == "rae@example.org")) == 1
    member = member_row("rae@example.org")
    assert member["user"] == existing
    [mail] = invitation_mails()
    assert "already have an account" in mail["body_text"]
    assert "http://testserver.local/account/sign-in" in mail["body_text"]
    link = link_in(mail)
    visitor = make_client()
    page = visitor.get(link)
    assert page.status_code == 200 and "Sign in with that account first" in page.text
    assert "/account/sign-in?next=/panel/invitations/" in page.text
    refused = post_form(visitor, link, {}, token_from="/account/sign-in")
    assert refused.status_code == 400 and "Sign in as rae@example.org first" in refused.text
    assert member_row("rae@example.org")["accepted_at"] is None
    # Signed in as someone else: told so, still not accepted.
    run(make_user("other@example.org", "Other Person"))
    applicant_sign_in(visitor, "other@example.org")
    page = visitor.get(link)
    assert "signed in with a different account" in page.text
    assert post_form(visitor, link, {}, token_from="/account/sign-in").status_code == 400
    post_form(visitor, "/account/sign-out", {}, token_from=link)
    applicant_sign_in(visitor, "rae@example.org")
    done = post_form(visitor, link, {}, follow_redirects=False)
    assert done.status_code == 303
    assert member_row("rae@example.org")["accepted_at"] is not None
    # The name the person set is theirs: the admin's spelling does not overwrite it.
    assert run(User.select(User.name).where(User.id == existing).first())["name"] == "Rae Existing"


def test_admin_on_a_panel_accepts_while_signed_in_as_admin(admin_client, admin_id):
    setup = run(make_round())
    invite(admin_client, setup.round_id, name="Ada Admin", email="ada@example.org")
    link = link_in(invitation_mails()[0])
    page = admin_client.get(link)
    assert "Accept and join the panel" in page.text
    assert post_form(admin_client, link, {}, follow_redirects=False).status_code == 303
    assert admin_client.get(f"/panel/rounds/{setup.round_id}/declarations").status_code == 200
    user = run(User.select(User.role).where(User.id == admin_id).first())
    assert user["role"] == "admin"


def test_one_chair_per_round_and_a_new_chair_demotes_the_old(admin_client):
    setup = run(make_round())
    invite(admin_client, setup.round_id, name="Cass Chair", email="cass@example.org", chair=True)
    page = admin_client.get(f"/admin/rounds/{setup.round_id}/panel")
    assert "Cass Chair chairs this panel" in page.text
    assert "Cass Chair chairs it now and would become an ordinary member" in page.text
    invite(admin_client, setup.round_id, name="Dee Deputy", email="dee@example.org", chair=True)
    assert member_row("cass@example.org")["role"] == "member"
    assert member_row("dee@example.org")["role"] == "chair"
    cass = member_row("cass@example.org")["id"]
    confirm_path = f"/admin/rounds/{setup.round_id}/panel/members/{cass}/chair"
    confirm = admin_client.get(confirm_path)
    assert "Dee Deputy chairs this panel now and will become an ordinary member" in confirm.text
    unticked = post_form(admin_client, confirm_path, {})
    assert unticked.status_code == 400 and "Tick the box" in unticked.text
    assert member_row("cass@example.org")["role"] == "member"
    done = post_form(admin_client, confirm_path, {"confirm": "1"}, follow_redirects=False)
    assert done.status_code == 303
    roles = {r["role"] for r in run(PanelMember.select(PanelMember.role))}
    assert run(PanelMember.count().where(PanelMember.role == "chair")) == 1 and roles == {
        "chair",
        "member",
    }
    assert member_row("cass@example.org")["role"] == "chair"
    changes = run(AuditEvent.select().where(AuditEvent.action == "panel.chair_changed"))
    assert len(changes) == 3  # Cass, then Dee, then Cass again


def test_remove_member_closes_their_pages_and_link(admin_client, make_client):
    setup = run(make_round())
    user_id, member_id = run(add_panel_member(setup, email="mo@example.org", name="Mo Member"))
    member_client = make_client()
    applicant_sign_in(member_client, "mo@example.org")
    assert member_client.get(f"/panel/rounds/{setup.round_id}/declarations").status_code == 200
    done = post_form(
        admin_client,
        f"/admin/rounds/{setup.round_id}/panel/members/{member_id}/remove",
        {},
        token_from=f"/admin/rounds/{setup.round_id}/panel",
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = admin_client.get(done.headers["location"])
    assert "removed from the panel" in page.text and "mo@example.org" not in page.text
    assert member_client.get(f"/panel/rounds/{setup.round_id}/declarations").status_code == 404
    assert "Racial equity lead" not in member_client.get("/panel").text
    assert run(AuditEvent.count().where(AuditEvent.action == "panel.member_removed")) == 1
    # Invited again later: the same row, a fresh start.
    invite(admin_client, setup.round_id, name="Mo Member", email="mo@example.org")
    assert run(PanelMember.count()) == 1
    row = member_row("mo@example.org")
    assert row["removed_at"] is None and row["accepted_at"] is None


def test_resend_replaces_the_link(admin_client, make_client):
    setup = run(make_round())
    invite(admin_client, setup.round_id)
    old = link_in(invitation_mails()[0])
    member_id = member_row("pat@example.org")["id"]
    done = post_form(
        admin_client,
        f"/admin/rounds/{setup.round_id}/panel/members/{member_id}/resend",
        {},
        token_from=f"/admin/rounds/{setup.round_id}/panel",
        follow_redirects=False,
    )
    assert done.status_code == 303
    mails = invitation_mails()
    assert len(mails) == 2 and mails[0]["dedupe_key"] != mails[1]["dedupe_key"]
    new = link_in(mails[1])
    visitor = make_client()
    assert visitor.get(old).status_code == 404
    assert visitor.get(new).status_code == 200
    assert run(AuditEvent.count().where(AuditEvent.action == "panel.invitation_resent")) == 1


# ---- Hostile input ----------------------------------------------------------------------


def test_invite_refuses_bad_email_long_name_and_duplicates(admin_client):
    setup = run(make_round())
    bad = invite(admin_client, setup.round_id, email="not an address")
    assert bad.status_code == 400 and "Enter an email address like" in bad.text
    assert 'href="#email"' in bad.text
    long = invite(admin_client, setup.round_id, name="N" * 10_000)
    assert long.status_code == 400 and "Keep the name under 200 characters" in long.text
    control = invite(admin_client, setup.round_id, name="Pat\x00Panel")
    assert control.status_code == 400
    assert run(PanelMember.count()) == 0 and run(User.count().where(User.role == "applicant")) == 0
    invite(admin_client, setup.round_id)
    twice = invite(admin_client, setup.round_id, email="PAT@example.org")
    assert twice.status_code == 409 and "already on this panel" in twice.text
    assert run(PanelMember.count()) == 1 and len(invitation_mails()) == 1


def test_other_rounds_member_and_unknown_ids_are_404(admin_client):
    one = run(make_round(slug="round-one"))
    two = run(make_round(slug="round-two"))
    _, member_two = run(add_panel_member(two, email="mo@example.org", name="Mo Member"))
    base = f"/admin/rounds/{one.round_id}/panel"
    for action in ("remove", "resend"):
        response = post_form(
            admin_client, f"{base}/members/{member_two}/{action}", {}, token_from=base
        )
        assert response.status_code == 404, action
    assert admin_client.get(f"{base}/members/{member_two}/chair").status_code == 404
    assert admin_client.get(f"{base}/members/99999999999/chair").status_code == 404
    assert admin_client.get("/admin/rounds/424242/panel").status_code == 404
    assert member_row("mo@example.org")["removed_at"] is None


def test_archived_round_refuses_invitations(admin_client):
    setup = run(make_round(stage="archived"))
    page = admin_client.get(f"/admin/rounds/{setup.round_id}/panel")
    assert "archived, so its panel can no longer change" in page.text
    refused = invite(admin_client, setup.round_id)
    assert refused.status_code == 409 and "archived" in refused.text
    assert run(PanelMember.count()) == 0


def test_expired_forged_and_withdrawn_links_get_clear_pages(admin_client, make_client):
    setup = run(make_round())
    invite(admin_client, setup.round_id)
    link = link_in(invitation_mails()[0])
    visitor = make_client()
    forged = visitor.get("/panel/invitations/forged-token-that-never-existed")
    assert forged.status_code == 404 and "This invitation link cannot be used" in forged.text
    assert visitor.get("/panel/invitations/" + "x" * 500).status_code == 404
    pat_id = member_row("pat@example.org")["id"]
    write(
        lambda: PanelMember.update(
            {PanelMember.token_expires_at: now() - timedelta(minutes=1)}
        ).where(PanelMember.id == pat_id)
    )
    expired = visitor.get(link)
    assert expired.status_code == 410 and "has expired" in expired.text
    posted = post_form(
        visitor,
        link,
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        token_from="/account/sign-in",
    )
    assert posted.status_code == 410
    assert member_row("pat@example.org")["accepted_at"] is None
    page = admin_client.get(f"/admin/rounds/{setup.round_id}/panel")
    assert "the link has expired" in page.text


def test_non_admin_cannot_use_the_admin_panel_pages(client):
    setup = run(make_round())
    run(make_user("rae@example.org", "Rae Applicant"))
    assert client.get(f"/admin/rounds/{setup.round_id}/panel").status_code == 401
    applicant_sign_in(client, "rae@example.org")
    assert client.get(f"/admin/rounds/{setup.round_id}/panel").status_code == 403
    response = client.post(
        f"/admin/rounds/{setup.round_id}/panel/invite",
        data={"name": "X", "email": "x@example.org", "_csrf_token": "nope"},
    )
    assert response.status_code == 403
    assert run(PanelMember.count()) == 0


# ---- Member: home, declarations, access -----------------------------------------------


def test_signed_out_panel_page_offers_the_account_sign_in(client):
    page = client.get("/panel")
    assert page.status_code == 401
    assert 'href="/account/sign-in?next=/panel"' in page.text or (
        "/account/sign-in?next=%2Fpanel" in page.text
    )


def test_applicant_never_sees_a_panel_round_page(client):
    setup = run(make_round())
    run(add_application(setup, email="rae@example.org", name="Rae Applicant"))
    applicant_sign_in(client, "rae@example.org")
    home = client.get("/panel")
    assert home.status_code == 200 and "You are not on any selection panel" in home.text
    for path in (
        f"/panel/rounds/{setup.round_id}/declarations",
        f"/panel/rounds/{setup.round_id}/conflicts",
        f"/panel/rounds/{setup.round_id}/applications/{setup.applications[0]}/conflict",
    ):
        assert client.get(path).status_code == 404, path


def test_member_of_one_round_gets_404_on_another(client):
    one = run(make_round(slug="one"))
    two = run(make_round(slug="two"))
    run(add_panel_member(one, email="mo@example.org", name="Mo Member", ready=False))
    applicant_sign_in(client, "mo@example.org")
    assert client.get(f"/panel/rounds/{one.round_id}/declarations").status_code == 200
    assert client.get(f"/panel/rounds/{two.round_id}/declarations").status_code == 404
    refused = post_form(
        client,
        f"/panel/rounds/{two.round_id}/declarations",
        {"confidentiality": "1", "organisations": ""},
        token_from=f"/panel/rounds/{one.round_id}/declarations",
    )
    assert refused.status_code == 404
    assert client.get("/panel/rounds/99999999999/declarations").status_code == 404


def test_unaccepted_invitee_has_no_panel_pages(admin_client, make_client):
    setup = run(make_round())
    run(make_user("pat@example.org", "Pat Panel"))
    invite(admin_client, setup.round_id)
    visitor = make_client()
    applicant_sign_in(visitor, "pat@example.org")
    assert visitor.get(f"/panel/rounds/{setup.round_id}/declarations").status_code == 404


def test_unready_member_is_sent_to_declarations(client):
    setup = run(make_round())
    run(
        add_panel_member(
            setup, email="cass@example.org", name="Cass Chair", role="chair", ready=False
        )
    )
    applicant_sign_in(client, "cass@example.org")
    response = client.get(f"/panel/rounds/{setup.round_id}/conflicts", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == f"/panel/rounds/{setup.round_id}/declarations"
    home = client.get("/panel")
    assert "Make your declarations" in home.text and "Chair" in home.text


def test_declarations_need_confidentiality_and_limit_organisations(client):
    setup = run(make_round())
    _, member_id = run(
        add_panel_member(setup, email="mo@example.org", name="Mo Member", ready=False)
    )
    applicant_sign_in(client, "mo@example.org")
    path = f"/panel/rounds/{setup.round_id}/declarations"
    page = client.get(path)
    assert "I will keep every application" in page.text
    unticked = post_form(client, path, {"organisations": "Howard League"})
    assert unticked.status_code == 400 and "Tick the box" in unticked.text
    assert 'href="#confidentiality"' in unticked.text
    assert "Howard League" in unticked.text  # what was typed is kept
    many = "\n".join(f"Organisation {i}" for i in range(21))
    too_many = post_form(client, path, {"confidentiality": "1", "organisations": many})
    assert too_many.status_code == 400 and "at most 20 organisations" in too_many.text
    long = post_form(client, path, {"confidentiality": "1", "organisations": "O" * 201})
    assert long.status_code == 400 and "under 200 characters" in long.text
    huge = post_form(client, path, {"confidentiality": "1", "organisations": "x" * 100_000})
    assert huge.status_code == 400
    member = run(PanelMember.select().where(PanelMember.id == member_id).first())
    assert member["confidentiality_at"] is None and member["declarations_at"] is None
    assert run(PanelOrganisation.count()) == 0


def test_declarations_make_the_member_ready_and_record_conflicts(client):
    setup = run(make_round())
    howard = run(
        add_application(
            setup, email="a@example.org", name="Ann Howard", organisation="The Howard  League"
        )
    )
    other = run(
        add_application(setup, email="b@example.org", name="Ben Other", organisation="Nacro")
    )
    user_id = run(make_user("mo@example.org", "Mo Member", organisation="Clinks"))
    _, member_id = run(
        add_panel_member(setup, email="mo@example.org", name="Mo", ready=False, user_id=user_id)
    )
    # The member also applied to this round.
    write(
        lambda: Application.insert(
            Application(
                applicant=user_id, round=setup.round_id, status="submitted", reference="SP-OWN"
            )
        )
    )
    applicant_sign_in(client, "mo@example.org")
    path = f"/panel/rounds/{setup.round_id}/declarations"
    done = post_form(
        client,
        path,
        {"confidentiality": "1", "organisations": "the howard league\n\nTHE HOWARD LEAGUE\nClinks"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/panel?done=declared"
    member = run(PanelMember.select().where(PanelMember.id == member_id).first())
    assert member["confidentiality_at"] and member["declarations_at"]
    names = [r["name"] for r in run(PanelOrganisation.select(PanelOrganisation.name))]
    assert names == ["the howard league", "Clinks"]
    conflicts = run(PanelConflict.select().where(PanelConflict.member == member_id))
    by_source = {c["source"]: c for c in conflicts}
    assert set(by_source) == {"organisation", "applicant"}
    assert by_source["organisation"]["application"] == howard
    assert by_source["organisation"]["kind"] == "organisational"
    assert other not in {c["application"] for c in conflicts}
    home = client.get("/panel?done=declared")
    assert "Your declarations are saved" in home.text
    # Declaring again without Howard drops the organisation conflict (no ruling on it yet).
    post_form(client, path, {"confidentiality": "1", "organisations": "Clinks"})
    sources = {
        c["source"] for c in run(PanelConflict.select().where(PanelConflict.member == member_id))
    }
    assert sources == {"applicant"}
    page = client.get(path)
    assert "Clinks" in page.text and "You last made your declarations" in page.text
    assert run(AuditEvent.count().where(AuditEvent.action == "panel.declarations_made")) == 2


def test_home_lists_round_stage_and_next_step(client):
    setup = run(make_round())
    run(advance_round(setup.round_id, "scoring"))
    run(add_panel_member(setup, email="mo@example.org", name="Mo Member"))
    applicant_sign_in(client, "mo@example.org")
    home = client.get("/panel")
    assert "Racial equity lead" in home.text and "Scoring" in home.text
    assert f'href="/panel/rounds/{setup.round_id}/scoring"' in home.text
    assert f"/panel/rounds/{setup.round_id}/conflicts" not in home.text  # not the chair


def test_round_address_in_mails_leads_a_member_to_that_round_and_others_to_404(client):
    """Reminder and pack mails link to /panel/rounds/{id}: the member lands on that
    round on their panel page, with the next step for their role and stage."""
    mine = run(make_round(slug="mine", stage="scoring"))
    other = run(make_round(slug="other"))
    run(add_panel_member(mine, email="mo@example.org", name="Mo Member", role="chair"))
    applicant_sign_in(client, "mo@example.org")
    landed = client.get(f"/panel/rounds/{mine.round_id}", follow_redirects=False)
    assert landed.status_code == 303
    assert landed.headers["location"] == f"/panel#round-{mine.round_id}"
    home = client.get("/panel")
    assert f'id="round-{mine.round_id}"' in home.text
    assert f"/panel/rounds/{mine.round_id}/scoring" in home.text
    assert f"/panel/rounds/{mine.round_id}/moderation" in home.text  # the chair's next steps
    assert client.get(f"/panel/rounds/{other.round_id}").status_code == 404
    assert client.get("/panel/rounds/99999999999").status_code == 404
