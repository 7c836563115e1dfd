"""Who may open which panel and admin page: one place for every refusal.

Two rounds (X and Y), each scored, shortlisted and with a pack. Each test takes one
kind of visitor and walks every address it must not reach, collecting every answer
that is not the refusal it should be (404 on panel pages, so nothing is confirmed to
exist; 403 for a signed-in non-admin on admin pages; 401 when signed out). A positive
control shows the same addresses work for the right person, so a 404 means "refused",
not "mistyped".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from portal.tables import PanelConflict, PanelMember, Score, ScoreSheet
from tests.conftest import form_token
from tests.factories import (
    COMMENT,
    Shortlisted,
    add_panel_member,
    make_shortlisted,
    now,
    panel_number,
    run,
    write,
)
from tests.web.test_shortlist_pack import sign_in_member

REDIRECT = (302, 303)


@dataclass
class Rounds:
    x: Shortlisted
    y: Shortlisted


@pytest.fixture
def rounds(settings) -> Rounds:
    x = run(make_shortlisted(title="Round X seat", domain="x.example"))
    y = run(make_shortlisted(title="Round Y seat", domain="y.example"))
    for s in (x, y):  # a declared conflict, so the chair's ruling page exists
        write(_conflict, s.member, s.unlisted)
    return Rounds(x, y)


def _conflict(member_id: int, application_id: int):
    return PanelConflict.insert(
        PanelConflict(
            member=member_id,
            application=application_id,
            kind="personal",
            source="member",
            note="My cousin.",
            declared_at=now(),
        )
    )


def n(application_id: int) -> int:
    """The panel number panel URLs carry instead of the application's id."""
    return run(panel_number(application_id))


def chair_email(s: Shortlisted) -> str:
    return f"chair{s.setup.round_id}@panel.example"


def member_email(s: Shortlisted) -> str:
    return f"pat{s.setup.round_id}@panel.example"


def a_sheet(s: Shortlisted) -> int:
    rows = run(ScoreSheet.select(ScoreSheet.id).where(ScoreSheet.member == s.member))
    return rows[0]["id"]


# ---- The addresses ------------------------------------------------------------------------


def application_gets(s: Shortlisted, app_id: int) -> list[str]:
    r = f"/panel/rounds/{s.setup.round_id}"
    return [
        f"{r}/applications/{n(app_id)}",
        f"{r}/applications/{n(app_id)}/conflict",
        f"{r}/pack/applications/{n(app_id)}/documents/cv",
    ]


def application_posts(s: Shortlisted, app_id: int) -> list[tuple[str, dict]]:
    r = f"/panel/rounds/{s.setup.round_id}"
    return [
        (f"{r}/applications/{n(app_id)}", {"action": "save", f"score_{s.setup.criteria[0]}": "3"}),
        (f"{r}/applications/{n(app_id)}/conflict", {"kind": "personal", "note": "A friend."}),
    ]


def chair_gets(s: Shortlisted) -> list[str]:
    r = f"/panel/rounds/{s.setup.round_id}"
    return [
        f"{r}/conflicts",
        f"{r}/conflicts/{s.member}/{n(s.unlisted)}",
        f"{r}/progress",
        f"{r}/moderation",
        f"{r}/moderation/{n(s.first)}",
        f"{r}/shortlist",
    ]


def chair_posts(s: Shortlisted) -> list[tuple[str, dict]]:
    r = f"/panel/rounds/{s.setup.round_id}"
    c = s.setup.criteria[0]
    return [
        (f"{r}/scoring/close", {}),
        (f"{r}/sheets/{a_sheet(s)}/reopen", {}),
        (f"{r}/conflicts/{s.member}/{n(s.unlisted)}", {"reason": "It does not matter."}),
        (
            f"{r}/moderation/{n(s.first)}",
            {"criterion": str(c), "value": "4", "rationale": "Agreed."},
        ),
        (f"{r}/shortlist", {"method": "top_n", "top_n": "1"}),
    ]


def round_gets(s: Shortlisted) -> list[str]:
    """Every GET under the round, for someone who may see none of it."""
    r = f"/panel/rounds/{s.setup.round_id}"
    return [
        r,
        f"{r}/declarations",
        f"{r}/scoring",
        f"{r}/pack",
        *application_gets(s, s.first),
        *chair_gets(s),
    ]


def round_posts(s: Shortlisted) -> list[tuple[str, dict]]:
    r = f"/panel/rounds/{s.setup.round_id}"
    return [
        (f"{r}/declarations", {"confidentiality": "1", "organisations": ""}),
        *application_posts(s, s.first),
        *chair_posts(s),
    ]


def admin_urls(s: Shortlisted) -> list[str]:
    r = f"/admin/rounds/{s.setup.round_id}"
    return [f"{r}/panel", f"{r}/shortlist", f"{r}/outcomes", f"{r}/scores.csv", "/admin/audit"]


# ---- Walking them -------------------------------------------------------------------------


def csrf(client) -> str:
    """The session's CSRF token (any page sets it; the form field must match the cookie)."""
    client.get("/panel")
    token = client.cookies.get("portal_csrf")
    assert token, "no CSRF cookie"
    return token


def refusals(client, gets, posts=(), expected=(404,)) -> list[str]:
    """Every address that did not answer with one of `expected`: (method, url, status)."""
    wrong = []
    for url in gets:
        response = client.get(url, follow_redirects=False)
        if response.status_code not in expected:
            wrong.append(f"GET {url} -> {response.status_code}")
    if posts:
        token = csrf(client)
        for url, data in posts:
            response = client.post(url, data={**data, "_csrf_token": token}, follow_redirects=False)
            if response.status_code not in expected:
                wrong.append(f"POST {url} -> {response.status_code}")
    return wrong


def signed_in(make_client, email: str):
    client = make_client()
    sign_in_member(client, email)
    return client


# ---- Positive control ---------------------------------------------------------------------


def test_the_chair_of_y_reaches_every_address_used_below(make_client, rounds):
    y = rounds.y
    chair = signed_in(make_client, chair_email(y))
    wrong = []
    for url in round_gets(y):
        response = chair.get(url, follow_redirects=False)
        expected = REDIRECT if url == f"/panel/rounds/{y.setup.round_id}" else (200,)
        if response.status_code not in expected:
            wrong.append(f"GET {url} -> {response.status_code}")
    assert wrong == []


# ---- The matrix ---------------------------------------------------------------------------


def test_member_of_round_x_gets_404_on_every_round_y_address(make_client, rounds):
    for email in (member_email(rounds.x), chair_email(rounds.x)):
        client = signed_in(make_client, email)
        assert client.get(f"/panel/rounds/{rounds.x.setup.round_id}/pack").status_code == 200
        assert refusals(client, round_gets(rounds.y), round_posts(rounds.y)) == [], email
        # Panel URLs carry panel numbers, so another round's application cannot even be
        # named through their own round's addresses: a number their round lacks is 404.
        r = f"/panel/rounds/{rounds.x.setup.round_id}"
        missing = [f"{r}/applications/{number}" for number in (0, 4, 2**31, 2**40)]
        assert refusals(client, missing) == [], email


def test_conflicted_member_gets_404_on_that_applications_pages(make_client, rounds):
    y = rounds.y
    write(_conflict, y.member, y.first)
    client = signed_in(make_client, member_email(y))
    assert refusals(client, application_gets(y, y.first), application_posts(y, y.first)) == []
    # The other shortlisted application is still theirs to see.
    assert (
        client.get(f"/panel/rounds/{y.setup.round_id}/applications/{n(y.second)}").status_code
        == 200
    )
    pack = client.get(f"/panel/rounds/{y.setup.round_id}/pack")
    assert pack.status_code == 200 and "Amara Okafor" not in pack.text


def test_conflicted_chair_gets_404_on_that_applications_pages_and_its_agreed_score(
    make_client, rounds
):
    y = rounds.y
    write(_conflict, y.chair, y.second)
    client = signed_in(make_client, chair_email(y))
    r = f"/panel/rounds/{y.setup.round_id}"
    agreed = {"criterion": str(y.setup.criteria[0]), "value": "4", "rationale": "Agreed."}
    gets = [*application_gets(y, y.second), f"{r}/moderation/{n(y.second)}"]
    posts = [*application_posts(y, y.second), (f"{r}/moderation/{n(y.second)}", agreed)]
    assert refusals(client, gets, posts) == []
    assert client.get(f"{r}/moderation/{n(y.first)}").status_code == 200


def test_removed_member_gets_404_everywhere_in_the_round(make_client, rounds):
    y = rounds.y
    client = signed_in(make_client, member_email(y))
    write(
        lambda: PanelMember.update({PanelMember.removed_at: now()}).where(
            PanelMember.id == y.member
        )
    )
    assert refusals(client, round_gets(y), round_posts(y)) == []
    assert f"/panel/rounds/{y.setup.round_id}" not in client.get("/panel").text


def test_unready_member_gets_404_on_application_addresses(make_client, rounds):
    y = rounds.y
    run(add_panel_member(y.setup, email="new@panel.example", name="Nia New", ready=False))
    client = signed_in(make_client, "new@panel.example")
    gets = application_gets(y, y.first)[:2]  # application and conflict pages
    assert refusals(client, gets, application_posts(y, y.first)) == []
    # The pack sends them to declare first, and a document is never handed over.
    doc = client.get(application_gets(y, y.first)[2], follow_redirects=False)
    assert doc.status_code in (404, *REDIRECT), doc.status_code
    if doc.status_code in REDIRECT:
        assert doc.headers["location"].endswith(f"/panel/rounds/{y.setup.round_id}/declarations")
    assert "content-disposition" not in doc.headers


def test_plain_member_gets_404_on_the_chairs_pages(make_client, rounds):
    y = rounds.y
    client = signed_in(make_client, member_email(y))
    assert refusals(client, chair_gets(y), chair_posts(y)) == []


def test_applicant_gets_404_on_every_panel_round_address(make_client, rounds):
    y = rounds.y
    client = signed_in(make_client, "amara@y.example")  # an applicant in that very round
    assert refusals(client, round_gets(y), round_posts(y)) == []


def test_panel_member_gets_404_on_an_applicants_own_pages(make_client, rounds):
    """Panel accounts are applicant accounts: the applicant's side must refuse them too."""
    y = rounds.y
    client = signed_in(make_client, member_email(y))
    base = f"/applications/{y.first}"
    gets = [base, f"{base}/review", f"{base}/receipt", f"{base}/withdraw"]
    gets += [f"{base}/documents", f"{base}/documents/cv"]
    assert refusals(client, gets) == []
    assert "Amara" not in client.get("/applications").text


@pytest.mark.parametrize("who", ["chair", "member", "applicant"])
def test_non_admin_gets_403_on_admin_pages(make_client, rounds, who):
    y = rounds.y
    email = {"chair": chair_email(y), "member": member_email(y), "applicant": "ben@y.example"}[who]
    client = signed_in(make_client, email)
    assert refusals(client, admin_urls(y), expected=(403,)) == []
    response = client.get(f"/admin/rounds/{y.setup.round_id}/scores.csv")
    assert "content-disposition" not in response.headers and "Amara" not in response.text


def test_signed_out_visitor_is_asked_to_sign_in(client, rounds):
    y = rounds.y
    assert refusals(client, admin_urls(y) + round_gets(y), expected=(401, *REDIRECT)) == []


# ---- What the applicant sees --------------------------------------------------------------

FEEDBACK = "Your statement on lived experience was clear; show more leadership."
REMARK = "Privately: weaker than the others on governance."


def test_applicant_sees_their_feedback_but_never_scores_or_comments(
    make_client, admin_client, rounds
):
    y = rounds.y
    # A panel comment on the unlisted application that the admin leaves out of the letter.
    sheets = run(ScoreSheet.select(ScoreSheet.id).where(ScoreSheet.application == y.unlisted))
    write(
        lambda: Score.update({Score.comment: REMARK}).where(
            Score.sheet.is_in([r["id"] for r in sheets])
        )
    )
    outcomes = f"/admin/rounds/{y.setup.round_id}/outcomes"
    sent = admin_client.post(
        f"{outcomes}/send",
        data={
            "_csrf_token": form_token(admin_client, outcomes),
            "batch": "shortlisting",
            f"send_{y.first}": "1",
            f"send_{y.unlisted}": "1",
            f"feedback_{y.unlisted}": FEEDBACK,
        },
    )
    assert sent.status_code == 200 and "2 letters were queued to send." in sent.text, sent.text[
        :3000
    ]

    cara = signed_in(make_client, "cara@y.example")
    page = cara.get(f"/applications/{y.unlisted}")
    assert page.status_code == 200
    text = page.text
    assert "lived experience was clear" in text
    for secret in (REMARK, "weaker than the others", "Chidi Chair", "Pat Panel"):
        assert secret not in text, secret

    amara = signed_in(make_client, "amara@y.example")
    page = amara.get(f"/applications/{y.first}")
    assert page.status_code == 200
    text = page.text
    assert "shortlisted" in text.lower()
    for secret in (COMMENT, "7.50", "7.5", "Chidi Chair", "Pat Panel", "weighted"):
        assert secret not in text, secret
    assert not re.search(r"\bscore[sd]?\b", text, re.IGNORECASE), "a score is mentioned"
