"""The shortlist pack: the mail to the panel (no applicant data in it), the pack page
(who may see it, what it shows and never shows, a conflict withheld) and the panel's
document downloads."""

from __future__ import annotations

import pytest

from portal import db
from portal.domain.errors import Conflict
from portal.domain.outcomes.pack_mail import queue_pack_mails
from portal.mail.compose.panels import compose_pack_mail
from portal.tables import (
    AuditEvent,
    OutboxMessage,
    PanelConflict,
    PanelMember,
)
from portal.web.security import CSP
from tests.conftest import post_form
from tests.factories import (
    COMMENT,
    PASSWORD,
    PDF,
    Shortlisted,
    add_panel_member,
    make_shortlisted,
    now,
    panel_number,
    run,
    write,
)
from tests.factories.outcomes import ADJUSTMENT, PHONE

CV = PDF  # the CV make_shortlisted stores for the first applicant


def sign_in_member(client, email: str) -> None:
    response = post_form(
        client, "/account/sign-in", {"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code in (302, 303), response.text


@pytest.fixture
def shortlisted(settings) -> Shortlisted:
    return run(make_shortlisted())


def pack_url(s: Shortlisted) -> str:
    return f"/panel/rounds/{s.setup.round_id}/pack"


def doc_url(s: Shortlisted, app_id: int, kind: str = "cv", round_id: int | None = None) -> str:
    """A pack document's address: it carries the panel number, never the application's id."""
    number = run(panel_number(app_id))
    return (
        f"/panel/rounds/{round_id or s.setup.round_id}/pack/applications/{number}/documents/{kind}"
    )


# ---- The pack page ---------------------------------------------------------------------


def test_member_sees_the_pack_in_rank_order_with_scores_and_comments(client, shortlisted):
    s = shortlisted
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    page = client.get(pack_url(s))
    assert page.status_code == 200
    text = page.text
    assert "Shortlist pack: Racial equity lead" in text
    assert "2 applications were shortlisted" in text
    assert text.index("Amara Okafor") < text.index("Ben Ng")
    assert "Black Justice Collective" in text and "Howard League" in text
    assert "Director" in text
    assert "I founded a mentoring scheme." in text  # answers and statements
    assert "Criterion 1" in text and "Criterion 2" in text
    assert "7.50" in text and "6.00" in text  # weighted totals
    assert COMMENT in text and "Chidi Chair" in text and "Pat Panel" in text
    assert "amara-cv.pdf" in text
    assert doc_url(s, s.first) in text
    # Not on the shortlist: not in the pack.
    assert "Cara Doyle" not in text and "food bank" not in text
    assert page.headers["cache-control"] == "no-store"


def test_pack_never_shows_contact_details_or_adjustments(client, shortlisted):
    s = shortlisted
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    text = client.get(pack_url(s)).text
    for secret in ("amara@applicant.example", "ben@applicant.example", PHONE, ADJUSTMENT):
        assert secret not in text
    assert "step-free" not in text


def test_pack_prints_cleanly(client, shortlisted):
    s = shortlisted
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    text = client.get(pack_url(s)).text
    assert text.count('class="pack-application"') == 2
    css = client.get("/static/portal.css").text
    printing = css[css.index(".pack-application { border-top: 0") - 400 :]
    assert ".site-header" in printing and "display: none" in printing
    assert "break-before: page" in printing
    assert 'a[href^="http"]::after' in printing and "attr(href)" in printing
    assert "style=" not in text and "<script" not in text  # CSP: no inline style or script
    assert "style-src 'self'" in CSP


def test_pack_counts_scores_as_moderation_does(client, shortlisted):
    """A removed member's sheets, and a sheet from a member excluded by a conflict, are not shown."""
    s = shortlisted
    write(
        lambda: PanelMember.update({PanelMember.removed_at: now()}).where(PanelMember.id == s.chair)
    )
    write(
        lambda: PanelConflict.insert(
            PanelConflict(member=s.member, application=s.second, kind="personal", decision="minor")
        )
    )
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    text = client.get(pack_url(s)).text
    assert "Chidi Chair" not in text
    assert "Ben Ng" in text  # a minor conflict hides nothing
    assert text.count("Pat Panel</strong>") == 4  # two criteria, two applications


def test_conflicted_member_has_the_application_withheld(client, shortlisted):
    s = shortlisted
    write(
        lambda: PanelConflict.insert(
            PanelConflict(member=s.member, application=s.first, kind="personal")
        )
    )
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    page = client.get(pack_url(s))
    assert page.status_code == 200
    assert "1 application withheld because of your declared conflict" in page.text
    assert "Amara Okafor" not in page.text and "mentoring scheme" not in page.text
    assert "Ben Ng" in page.text
    assert client.get(doc_url(s, s.first)).status_code == 404


def test_organisation_declared_withholds_the_application(client, shortlisted):
    from portal.tables import PanelOrganisation

    s = shortlisted
    write(
        lambda: PanelOrganisation.insert(
            PanelOrganisation(member=s.member, name="Howard League", normalised="howard league")
        )
    )
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    page = client.get(pack_url(s))
    assert "1 application withheld because of your declared conflict" in page.text
    assert "Ben Ng" not in page.text and "Amara Okafor" in page.text


@pytest.mark.parametrize("stage", ["collecting", "scoring"])
def test_no_pack_before_the_shortlist(client, settings, stage):
    s = run(make_shortlisted(stage=stage))
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    assert client.get(pack_url(s)).status_code == 404
    assert client.get(doc_url(s, s.first)).status_code == 404


@pytest.mark.parametrize("stage", ["decided", "archived"])
def test_pack_stays_open_after_the_decision(client, settings, stage):
    s = run(make_shortlisted(stage=stage))
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    assert client.get(pack_url(s)).status_code == 200


def test_member_of_another_round_gets_404(client, shortlisted):
    s = shortlisted
    other = run(make_shortlisted(title="Youth justice seat", domain="other.example"))
    sign_in_member(client, f"pat{other.setup.round_id}@panel.example")
    assert client.get(pack_url(other)).status_code == 200  # their own round's pack
    page = client.get(pack_url(s))
    assert page.status_code == 404
    assert "Amara" not in page.text
    assert client.get(doc_url(s, s.first)).status_code == 404
    # Their own round in the address, a number none of its applications has: nothing.
    base = f"/panel/rounds/{other.setup.round_id}/pack/applications"
    assert client.get(f"{base}/{len(other.setup.applications) + 1}/documents/cv").status_code == 404


def test_removed_member_gets_404(client, shortlisted):
    s = shortlisted
    write(
        lambda: PanelMember.update({PanelMember.removed_at: now()}).where(
            PanelMember.id == s.member
        )
    )
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    assert client.get(pack_url(s)).status_code == 404
    assert client.get(doc_url(s, s.first)).status_code == 404


def test_applicant_and_admin_who_are_not_members_get_404(client, admin_client, shortlisted):
    s = shortlisted
    assert admin_client.get(pack_url(s)).status_code == 404
    admin_client.cookies.clear()
    sign_in_member(client, "amara@applicant.example")
    assert client.get(pack_url(s)).status_code == 404
    assert client.get(doc_url(s, s.first)).status_code == 404


def test_signed_out_visitor_is_asked_to_sign_in(client, shortlisted):
    response = client.get(pack_url(shortlisted), follow_redirects=False)
    assert response.status_code in (401, 302, 303)
    assert "Amara" not in response.text


def test_member_who_has_not_declared_is_sent_to_declare_first(client, shortlisted):
    s = shortlisted
    write(
        lambda: PanelMember.update({PanelMember.declarations_at: None}).where(
            PanelMember.id == s.member
        )
    )
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    response = client.get(pack_url(s), follow_redirects=False)
    assert response.status_code != 200
    assert "Amara" not in response.text


def test_hostile_pack_addresses_are_404(client, shortlisted):
    s = shortlisted
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    assert client.get("/panel/rounds/99999999999/pack").status_code == 404
    assert client.get("/panel/rounds/0/pack").status_code == 404
    base = f"/panel/rounds/{s.setup.round_id}/pack/applications"
    for number in (99999999999, 0, 3):  # none, none, and Cara: not on the shortlist
        assert client.get(f"{base}/{number}/documents/cv").status_code == 404
    assert client.get(doc_url(s, s.first, kind="../../etc")).status_code == 404


# ---- Documents through the pack ----------------------------------------------------------


def test_member_downloads_a_shortlisted_document_and_it_is_audited(client, shortlisted):
    s = shortlisted
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    response = client.get(doc_url(s, s.first))
    assert response.status_code == 200
    assert response.content == CV
    assert response.headers["content-type"].startswith("application/pdf")
    assert "attachment" in response.headers["content-disposition"]
    assert "amara-cv.pdf" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    events = run(AuditEvent.select().where(AuditEvent.action == "pack.document_downloaded"))
    assert len(events) == 1 and events[0]["subject_id"] == s.first


def test_documents_refused_outside_the_shortlist(client, shortlisted):
    s = shortlisted
    sign_in_member(client, f"pat{s.setup.round_id}@panel.example")
    assert client.get(doc_url(s, s.unlisted)).status_code == 404  # not shortlisted
    assert client.get(doc_url(s, s.second)).status_code == 404  # shortlisted, no CV uploaded
    assert client.get(doc_url(s, s.first, kind="supporting")).status_code == 404
    assert client.get(doc_url(s, s.first, kind="passport")).status_code == 404


# ---- The mail to the panel ---------------------------------------------------------------


async def _queue(settings, round_id: int) -> list[int]:
    async with db.write_transaction():
        return await queue_pack_mails(round_id, compose_pack_mail(settings), now())


def test_pack_mail_goes_to_each_active_member_once_with_no_applicant_data(settings, shortlisted):
    s = shortlisted
    # Someone invited who never accepted, and someone removed: neither is told.
    invited_user, invited = run(
        add_panel_member(s.setup, email="ivy@panel.example", name="Ivy Invited")
    )
    removed_user, removed = run(
        add_panel_member(s.setup, email="rex@panel.example", name="Rex Removed")
    )
    write(
        lambda: PanelMember.update({PanelMember.accepted_at: None}).where(PanelMember.id == invited)
    )
    write(
        lambda: PanelMember.update({PanelMember.removed_at: now()}).where(PanelMember.id == removed)
    )
    ids = run(_queue(settings, s.setup.round_id))
    assert len(ids) == 2
    mails = run(OutboxMessage.select().where(OutboxMessage.id.is_in(ids)))
    assert {m["recipient"] for m in mails} == {
        f"chair{s.setup.round_id}@panel.example",
        f"pat{s.setup.round_id}@panel.example",
    }
    assert {m["dedupe_key"] for m in mails} == {
        f"pack:{s.setup.round_id}:{s.chair}",
        f"pack:{s.setup.round_id}:{s.member}",
    }
    link = f"http://testserver.local/panel/rounds/{s.setup.round_id}/pack"
    for mail in mails:
        assert mail["kind"] == "shortlist_pack" and mail["round"] == s.setup.round_id
        for body in (mail["subject"], mail["body_text"], mail["body_html"]):
            for secret in (
                "Amara",
                "Okafor",
                "Ben Ng",
                "Cara",
                "applicant.example",
                "Black Justice Collective",
                "Howard League",
                "Doyle Trust",
                PHONE,
                COMMENT,
            ):
                assert secret not in body
        assert "Racial equity lead" in mail["subject"]
        assert "2 applications were shortlisted" in mail["body_text"]
        assert link in mail["body_text"] and link in mail["body_html"]
    # A repeated call (a retried confirmation) writes nothing twice.
    assert run(_queue(settings, s.setup.round_id)) == []
    assert run(OutboxMessage.count().where(OutboxMessage.kind == "shortlist_pack")) == 2


def test_pack_mail_refused_before_the_shortlist(settings):
    s = run(make_shortlisted(stage="scoring"))
    with pytest.raises(Conflict):
        run(_queue(settings, s.setup.round_id))
    assert run(OutboxMessage.count()) == 0
