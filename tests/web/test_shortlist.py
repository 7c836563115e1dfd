"""The shortlist: the chair proposes (top N with ties, threshold, re-propose), an admin
confirms in one transaction (stage, statuses, pack mails, audit), refusals, and the
scores CSV (admins only, spreadsheet-safe)."""

from __future__ import annotations

import csv
import io

import pytest

from portal import db
from portal.tables import (
    AgreedScore,
    Application,
    AuditEvent,
    OutboxMessage,
    Round,
    Shortlist,
    ShortlistEntry,
)
from tests.conftest import form_token, post_form
from tests.factories import run, set_stage
from tests.web.test_moderation import (
    Panel,
    chair_client,
    insert,
    make_panel,
    panel_client,
    score,
)


def scored_panel(totals_by_app: list[list[int]] | None = None, **kwargs) -> Panel:
    """Four applications, scored by one member (criteria weights 2 and 1).

    Default totals: 12, 9, 9, 3 -> ranks 1, =2, =2, 4.
    """
    p = make_panel(apps=4, members=1, **kwargs)
    member = p.members[0][1]
    for app, values in zip(p.apps, totals_by_app or [[4, 4], [3, 3], [4, 1], [1, 1]], strict=True):
        score(p, member, app, values)
    # One sheet per application is the round's minimum here: the chair does not score.
    run(Round.update({Round.min_score_sheets: 1}).where(Round.id == p.round_id))
    return p


def shortlist_path(p: Panel) -> str:
    return f"/panel/rounds/{p.round_id}/shortlist"


def propose(client, p: Panel, **data):
    return post_form(client, shortlist_path(p), data, follow_redirects=False)


def entries(p: Panel) -> list[tuple[int, int, float]]:
    rows = run(
        ShortlistEntry.select(ShortlistEntry.application, ShortlistEntry.rank, ShortlistEntry.total)
        .where(ShortlistEntry.shortlist.round == p.round_id)
        .order_by(ShortlistEntry.rank)
        .order_by(ShortlistEntry.application)
    )
    return [(r["application"], r["rank"], r["total"]) for r in rows]


# ---- Proposing ----------------------------------------------------------------------


def test_top_n_with_a_tie_at_the_cut_includes_both_and_says_so(settings, make_client):
    p = scored_panel()
    client = chair_client(make_client)
    response = propose(client, p, method="top_n", top_n="2", note="Tie at 2.")
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert "The shortlist proposal is saved" in page.text
    assert "Tie at the last place" in page.text and "there are 3 rather than 2" in page.text
    assert page.text.count("=2") >= 2 and "Applicant 2" in page.text
    assert "Named Person" not in page.text
    assert entries(p) == [(p.apps[0], 1, 12.0), (p.apps[1], 2, 9.0), (p.apps[2], 2, 9.0)]
    row = run(Shortlist.select().first())
    assert (row["method"], row["top_n"], row["note"]) == ("top_n", 2, "Tie at 2.")
    assert row["proposed_by"] == p.chair[0] and row["confirmed_at"] is None
    event = run(AuditEvent.select().where(AuditEvent.action == "shortlist.proposed"))
    assert event and event[0]["round"] == p.round_id


def test_re_proposing_by_threshold_replaces_the_proposal(settings, make_client):
    p = scored_panel()
    client = chair_client(make_client)
    propose(client, p, method="top_n", top_n="1")
    assert [e[0] for e in entries(p)] == [p.apps[0]]
    response = propose(client, p, method="threshold", threshold="9")
    assert response.status_code == 303
    assert [e[0] for e in entries(p)] == [p.apps[0], p.apps[1], p.apps[2]]
    rows = run(Shortlist.select())
    assert len(rows) == 1 and rows[0]["method"] == "threshold" and rows[0]["threshold"] == 9
    page = client.get(shortlist_path(p))
    assert "Everyone with a total of 9 or more" in page.text
    assert "Propose it again" in page.text


def test_moderation_page_links_to_the_proposal(settings, make_client):
    p = scored_panel()
    client = chair_client(make_client)
    propose(client, p, method="top_n", top_n="1")
    page = client.get(f"/panel/rounds/{p.round_id}/moderation")
    assert "A shortlist is proposed (1 application)" in page.text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"method": "top_n", "top_n": "0"}, "top_n", "from 1 to"),
        ({"method": "top_n", "top_n": "two"}, "top_n", "from 1 to"),
        ({"method": "top_n", "top_n": ""}, "top_n", "from 1 to"),
        ({"method": "top_n", "top_n": "9" * 40}, "top_n", "from 1 to"),
        ({"method": "threshold", "threshold": "13"}, "threshold", "from 0 to 12"),
        ({"method": "threshold", "threshold": "-1"}, "threshold", "from 0 to 12"),
        ({"method": "threshold", "threshold": "1.005"}, "threshold", "two decimal places"),
        ({"method": "sideways"}, "method", "Choose how to shortlist"),
        ({}, "method", "Choose how to shortlist"),
        ({"method": "top_n", "top_n": "2", "note": "x" * 2001}, "note", "2000 characters"),
    ],
)
def test_proposal_hostile_inputs(settings, make_client, data, field, message):
    p = scored_panel()
    response = propose(chair_client(make_client), p, **data)
    assert response.status_code == 400
    assert message in response.text and f'href="#{field}"' in response.text
    assert not run(Shortlist.select())


def test_nothing_at_or_above_the_threshold(settings, make_client):
    p = scored_panel([[3, 3], [3, 3], [1, 1], [1, 1]])
    response = propose(chair_client(make_client), p, method="threshold", threshold="10")
    assert response.status_code == 400
    assert "at or above that total" in response.text and 'href="#threshold"' in response.text


def test_nothing_to_propose_when_no_score_is_complete(settings, make_client):
    p = make_panel()
    client = chair_client(make_client)
    refused = propose(client, p, method="top_n", top_n="2")
    assert refused.status_code == 409
    assert "Applicant 1 has 0 of 3 score sheets (R1 Chair, R1 Member 0, R1 Member 1)" in (
        refused.text
    )
    for number in (1, 2, 3):  # the chair lets each go forward unscored, with a reason
        post_form(
            client,
            f"{shortlist_path(p)}/not-scored/{number}",
            {"reason": "The panel ran out of time."},
            token_from=shortlist_path(p),
        )
    response = propose(client, p, method="top_n", top_n="2")
    assert response.status_code == 400
    assert "no application has a complete score" in response.text


def test_proposal_refused_outside_scoring_and_for_non_chairs(settings, make_client):
    p = scored_panel()
    client = chair_client(make_client)
    token = form_token(client, shortlist_path(p))
    member = panel_client(make_client, "r1-m0@example.org")
    member_token = form_token(member, "/account")
    response = member.post(
        shortlist_path(p), data={"method": "top_n", "top_n": "1", "_csrf_token": member_token}
    )
    assert response.status_code == 404
    run(set_stage(p.round_id, "collecting"))
    response = client.post(
        shortlist_path(p), data={"method": "top_n", "top_n": "1", "_csrf_token": token}
    )
    assert response.status_code == 409
    assert not run(Shortlist.select())


# ---- Confirming ---------------------------------------------------------------------


def admin_page(p: Panel) -> str:
    return f"/admin/rounds/{p.round_id}/shortlist"


def confirm(admin_client, p: Panel, **extra):
    page = admin_client.get(admin_page(p))
    token = form_token(admin_client, admin_page(p)) if "_csrf_token" in page.text else ""
    data = {"_csrf_token": token}
    import re

    match = re.search(r'name="proposed_at" value="([^"]+)"', page.text)
    if match:
        data["proposed_at"] = match.group(1)
    data.update(extra)
    return admin_client.post(
        f"/admin/rounds/{p.round_id}/shortlist/confirm", data=data, follow_redirects=False
    )


def test_admin_sees_names_and_confirms_in_one_go(settings, make_client, admin_client):
    p = scored_panel()
    propose(chair_client(make_client), p, method="top_n", top_n="2")
    page = admin_client.get(admin_page(p))
    assert page.status_code == 200
    assert "Named Person r1 0" in page.text and "r1-a1@example.org" in page.text
    assert "Confirm the shortlist" in page.text and "Tie at the last place" in page.text
    response = confirm(admin_client, p)
    assert response.status_code == 303, response.text
    done = admin_client.get(response.headers["location"])
    assert (
        "The shortlist is confirmed" in done.text
        and "Confirm the shortlist</button>" not in done.text
    )
    statuses = {
        r["id"]: r["status"] for r in run(Application.select(Application.id, Application.status))
    }
    assert [statuses[a] for a in p.apps] == [
        "shortlisted",
        "shortlisted",
        "shortlisted",
        "submitted",
    ]
    rnd = run(Round.select(Round.stage).where(Round.id == p.round_id).first())
    assert rnd["stage"] == "shortlisted"
    row = run(Shortlist.select().first())
    assert row["confirmed_at"] is not None and row["confirmed_by"] is not None
    mails = run(OutboxMessage.select().where(OutboxMessage.kind == "shortlist_pack"))
    assert sorted(m["recipient"] for m in mails) == ["r1-chair@example.org", "r1-m0@example.org"]
    assert all("Named Person" not in m["body_text"] for m in mails)
    actions = {e["action"] for e in run(AuditEvent.select(AuditEvent.action))}
    assert {"shortlist.confirmed", "round.stage.shortlisted"} <= actions
    # Now the chair sees names (the round left scoring) and cannot re-propose.
    chair = chair_client(make_client)
    moderation = chair.get(f"/panel/rounds/{p.round_id}/moderation")
    assert "Named Person r1 0" in moderation.text
    assert "Propose it again" not in chair.get(shortlist_path(p)).text


def test_confirming_twice_is_409_and_changes_nothing(settings, make_client, admin_client):
    p = scored_panel()
    propose(chair_client(make_client), p, method="top_n", top_n="1")
    token = form_token(admin_client, admin_page(p))
    first = confirm(admin_client, p)
    assert first.status_code == 303
    again = admin_client.post(
        f"/admin/rounds/{p.round_id}/shortlist/confirm", data={"_csrf_token": token}
    )
    assert again.status_code == 409
    assert "already been confirmed" in again.text
    mails = run(OutboxMessage.select().where(OutboxMessage.kind == "shortlist_pack"))
    assert len(mails) == 2


def test_confirming_without_a_proposal_or_outside_scoring_is_409(
    settings, make_client, admin_client
):
    p = scored_panel()
    token = form_token(admin_client, admin_page(p))
    path = f"/admin/rounds/{p.round_id}/shortlist/confirm"
    response = admin_client.post(path, data={"_csrf_token": token})
    assert response.status_code == 409 and "has not proposed a shortlist" in response.text
    propose(chair_client(make_client), p, method="top_n", top_n="1")
    run(set_stage(p.round_id, "collecting"))
    response = admin_client.post(path, data={"_csrf_token": token})
    assert response.status_code == 409 and "only while the round is being scored" in response.text
    assert run(Shortlist.select().first())["confirmed_at"] is None
    assert run(Round.select(Round.stage).first())["stage"] == "collecting"


def test_stale_or_changed_proposal_is_refused(settings, make_client, admin_client):
    p = scored_panel()
    chair = chair_client(make_client)
    propose(chair, p, method="top_n", top_n="1")
    page = admin_client.get(admin_page(p))
    response = confirm(admin_client, p, proposed_at="2000-01-01T00:00:00+00:00")
    assert response.status_code == 409 and "changed the proposal" in response.text
    # An agreed score after the proposal reorders the list: out of date, refused.
    insert(
        AgreedScore(application=p.apps[3], criterion=p.setup.criteria[0], value=4, rationale="r")
    )
    insert(
        AgreedScore(application=p.apps[3], criterion=p.setup.criteria[1], value=4, rationale="r")
    )
    page = admin_client.get(admin_page(p))
    assert "Out of date" in page.text
    response = confirm(admin_client, p)
    assert response.status_code == 409 and "scores have changed" in response.text
    assert run(Round.select(Round.stage).first())["stage"] == "scoring"
    assert "Out of date" in chair.get(shortlist_path(p)).text


def test_non_admins_cannot_confirm_or_export(settings, make_client):
    p = scored_panel()
    chair = chair_client(make_client)
    propose(chair, p, method="top_n", top_n="1")
    token = form_token(chair, shortlist_path(p))
    assert chair.get(admin_page(p)).status_code == 403
    assert chair.get(f"/admin/rounds/{p.round_id}/scores.csv").status_code == 403
    response = chair.post(
        f"/admin/rounds/{p.round_id}/shortlist/confirm", data={"_csrf_token": token}
    )
    assert response.status_code == 403
    assert run(Shortlist.select().first())["confirmed_at"] is None


def test_unknown_round_is_404_for_admins(settings, admin_client):
    assert admin_client.get("/admin/rounds/999999/shortlist").status_code == 404
    assert admin_client.get("/admin/rounds/999999/scores.csv").status_code == 404


def test_admin_page_without_a_proposal(settings, admin_client):
    p = scored_panel()
    page = admin_client.get(admin_page(p))
    assert "has not proposed a shortlist yet" in page.text


# ---- The scores CSV -----------------------------------------------------------------


def test_scores_csv_is_complete_and_spreadsheet_safe(settings, admin_client):
    p = make_panel(apps=2, members=2)
    (m0, m1) = [m[1] for m in p.members]
    hostile = '=HYPERLINK("http://evil.example","click")'
    score(p, m0, p.apps[0], [4, 2], comments=[hostile, "+1 good"])
    score(p, m1, p.apps[0], [2, 2], comments=["fine", "@SUM(A1)"])
    score(p, m1, p.apps[1], [1, None], submitted=False)
    response = admin_client.get(f"/admin/rounds/{p.round_id}/scores.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    # App 0: 2 members x 2 criteria; app 1: 1 sheet x 2 criteria.
    assert len(rows) == 6
    comments = [r["Comment"] for r in rows]
    assert "'" + hostile in comments and hostile not in comments
    assert "'+1 good" in comments and "'@SUM(A1)" in comments
    first = rows[0]
    assert first["Applicant"] == "Named Person r1 0" and first["Weighted total"] == "8"
    assert first["Total complete"] == "Yes" and first["Rank"] == "1"
    draft_rows = [r for r in rows if r["Reference"] and r["Counted"] == "No: not submitted"]
    assert len(draft_rows) == 2 and {r["Score"] for r in draft_rows} == {"1", ""}
    assert draft_rows[0]["Total complete"].startswith("No")
    events = run(AuditEvent.select().where(AuditEvent.action == "scores.exported"))
    assert len(events) == 1


def test_scores_csv_lists_applications_without_sheets(settings, admin_client):
    p = make_panel(apps=1, members=1)
    rows = list(
        csv.reader(
            io.StringIO(
                admin_client.get(f"/admin/rounds/{p.round_id}/scores.csv").content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert len(rows) == 1 + 2  # header + one row per criterion
    assert rows[1][12] == "No sheets"


def test_confirm_is_all_or_nothing_when_an_entry_was_withdrawn(settings, make_client, admin_client):
    p = scored_panel()
    propose(chair_client(make_client), p, method="top_n", top_n="1")

    async def withdraw():
        async with db.write_transaction():
            await Application.update({Application.status: "withdrawn"}).where(
                Application.id == p.apps[0]
            )

    run(withdraw())
    response = confirm(admin_client, p)
    assert response.status_code == 409
    assert run(Round.select(Round.stage).first())["stage"] == "scoring"
    assert run(Shortlist.select().first())["confirmed_at"] is None
    assert not run(OutboxMessage.select())


def test_oversized_or_repeated_proposal_is_refused(settings, make_client):
    p = scored_panel()
    client = chair_client(make_client)
    token = form_token(client, shortlist_path(p))
    big = client.post(
        shortlist_path(p),
        data={"method": "top_n", "top_n": "1", "note": "x" * 40_000, "_csrf_token": token},
    )
    assert big.status_code == 413
    repeated = client.post(
        shortlist_path(p),
        content=f"method=top_n&method=threshold&top_n=1&_csrf_token={token}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 400
    assert not run(Shortlist.select())
