"""Fair by construction (issue 10), the panel side: nobody is shortlisted out or turned
down unread, an audited chair decision is the only way past, edits on a stale page are
never lost silently, and admins set the scoring deadline and minimum."""

from __future__ import annotations

import json
import re

from portal.tables import AgreedScore, AuditEvent, Round, Score, UnscoredDecision
from tests.conftest import form_token, post_form
from tests.factories import (
    COMMENT,
    add_application,
    make_shortlisted,
    now,
    panel_number,
    run,
)
from tests.web.test_moderation import chair_client, make_panel, panel_client, score
from tests.web.test_outcomes import post_letters, url

# ---- Nobody is shortlisted out unread ------------------------------------------------------


def test_the_refusal_says_which_applications_lack_scores_and_from_whom(settings, make_client):
    p = make_panel(apps=3, members=2)  # chair + 2 members: 3 sheets each by default
    chair, (m0, m1) = p.chair[1], [m[1] for m in p.members]
    for app in p.apps:
        score(p, chair, app, [3, 3])
        score(p, m0, app, [2, 2])
    score(p, m1, p.apps[0], [4, 4])  # member 1 scored only the first
    client = chair_client(make_client)

    refused = post_form(
        client, f"/panel/rounds/{p.round_id}/shortlist", {"method": "top_n", "top_n": "1"}
    )

    assert refused.status_code == 409
    text = refused.text
    for app in p.apps[1:]:
        number = run(panel_number(app))
        assert f"Applicant {number} has 2 of 3 score sheets (R1 Member 1)" in text
    assert f"Applicant {run(panel_number(p.apps[0]))} has" not in text.split("cannot propose")[1]
    assert run(Round.select(Round.id).where(Round.id == p.round_id))  # nothing else changed
    # The page also says so before anyone tries, with a decision form per application.
    page = client.get(f"/panel/rounds/{p.round_id}/shortlist").text
    assert "2 applications are short of score sheets" in page
    assert len(re.findall(r"/shortlist/not-scored/\d+", page)) == 2


def test_a_chair_decision_is_audited_shown_to_the_admin_and_lets_the_shortlist_through(
    settings, make_client, admin_client
):
    p = make_panel(apps=2, members=1)
    chair, m0 = p.chair[1], p.members[0][1]
    score(p, chair, p.apps[0], [4, 4])
    score(p, m0, p.apps[0], [3, 3])
    score(p, chair, p.apps[1], [1, 1])  # the member never scored the second
    client = chair_client(make_client)
    number = run(panel_number(p.apps[1]))
    decide = f"/panel/rounds/{p.round_id}/shortlist/not-scored/{number}"
    empty = post_form(client, decide, {"reason": "   "}, token_from=client_path(p))
    assert empty.status_code == 400 and "Say why" in empty.text

    done = post_form(
        client,
        decide,
        {"reason": "Member on leave; chair's sheet stands."},
        token_from=client_path(p),
        follow_redirects=False,
    )

    assert done.status_code == 303
    [row] = run(UnscoredDecision.select())
    assert (
        row["application"] == p.apps[1]
        and row["reason"] == "Member on leave; chair's sheet stands."
    )
    [event] = run(AuditEvent.select().where(AuditEvent.action == "scoring.not_scored_decision"))
    detail = event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
    assert detail["completed"] == 1 and detail["required"] == 2
    proposed = post_form(
        client, client_path(p), {"method": "top_n", "top_n": "1"}, follow_redirects=False
    )
    assert proposed.status_code == 303, proposed.text
    admin_page = admin_client.get(f"/admin/rounds/{p.round_id}/shortlist").text
    assert "Member on leave; chair&#39;s sheet stands." in admin_page
    assert "1 of 2 score sheets" in admin_page


def test_a_decision_is_refused_for_an_application_that_is_fully_scored(settings, make_client):
    p = make_panel(apps=1, members=1)
    for member in (p.chair[1], p.members[0][1]):
        score(p, member, p.apps[0], [2, 2])
    client = chair_client(make_client)
    refused = post_form(
        client,
        f"/panel/rounds/{p.round_id}/shortlist/not-scored/{run(panel_number(p.apps[0]))}",
        {"reason": "No need."},
        token_from=client_path(p),
    )
    assert refused.status_code == 400 and "no decision is needed" in refused.text
    member = panel_client(make_client, "r1-m0@example.org")
    not_chair = post_form(
        member,
        f"/panel/rounds/{p.round_id}/shortlist/not-scored/1",
        {"reason": "x"},
        token_from="/account",
    )
    assert not_chair.status_code == 404
    assert run(UnscoredDecision.count()) == 0


def client_path(p) -> str:
    return f"/panel/rounds/{p.round_id}/shortlist"


# ---- No letter to an application nobody scored ---------------------------------------------


def test_no_letter_to_an_application_nobody_scored_without_a_decision(admin_client, settings):
    s = run(make_shortlisted())
    late = run(add_application(s.setup, email="lu@applicant.example", name="Lu Late"))
    page = admin_client.get(url(s)).text
    assert "Nobody on the panel has scored this application" in page
    assert f'name="send_{late}" value="1" checked' not in page

    refused = post_letters(
        admin_client, s, "preview", {"batch": "shortlisting", f"send_{late}": "1"}
    )

    assert refused.status_code == 400
    assert "it cannot be turned down" in refused.text
    run(
        UnscoredDecision.insert(
            UnscoredDecision(
                round=s.setup.round_id,
                application=late,
                reason="Arrived in the grace; the panel agreed not to score it.",
                decided_by=s.chair_user,
                decided_at=now(),
            )
        )
    )
    allowed = post_letters(
        admin_client, s, "preview", {"batch": "shortlisting", f"send_{late}": "1"}
    )
    assert allowed.status_code == 200, allowed.text
    assert "read and scored your application" not in allowed.text  # it was not


# ---- Score sheets never lose an edit -------------------------------------------------------


def sheet_path(p, app_id: int) -> str:
    return f"/panel/rounds/{p.round_id}/applications/{run(panel_number(app_id))}"


def saved(member_id: int) -> dict[int, tuple]:
    rows = run(
        Score.select(Score.criterion, Score.value, Score.comment).where(
            Score.sheet.member == member_id
        )
    )
    return {r["criterion"]: (r["value"], r["comment"]) for r in rows}


def test_a_save_from_a_stale_tab_is_refused_with_both_values_and_changes_nothing(
    settings, make_client
):
    p = make_panel(apps=1, members=1)
    c0, c1 = p.setup.criteria
    client = panel_client(make_client, "r1-m0@example.org")
    path = sheet_path(p, p.apps[0])
    tab_one = client.get(path).text
    tab_two = client.get(path).text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', tab_one).group(1)

    def post_from(page_html: str, changes: dict) -> object:
        fields = dict(
            re.findall(r'<input type="hidden" name="(seen_[a-z_0-9]+)" value="([^"]*)"', page_html)
        )
        return client.post(path, data={**fields, **changes, "action": "save", "_csrf_token": token})

    first = post_from(tab_one, {f"score_{c0}": "4", f"comment_{c0}": "Tab one's view."})
    assert first.status_code == 200 and "Your scores are saved." in first.text
    second = post_from(tab_two, {f"score_{c0}": "1", f"score_{c1}": "2"})

    assert second.status_code == 409
    assert "changed somewhere else" in second.text
    assert re.search(r"Saved now, from another tab or device: <strong>4</strong>", second.text)
    assert re.search(r"This page sent: <strong>1</strong>", second.text)
    assert saved(p.members[0][1]) == {c0: (4, "Tab one's view.")}  # nothing from tab two
    # Saving again from the refusal page (now up to date) keeps the member's choice.
    again = post_from(second.text, {f"score_{c0}": "1", f"score_{c1}": "2"})
    assert again.status_code == 200, again.text
    assert saved(p.members[0][1]) == {c0: (1, "Tab one's view."), c1: (2, "")}


def test_a_stale_page_does_not_overwrite_a_field_the_member_did_not_touch(settings, make_client):
    p = make_panel(apps=1, members=1)
    c0, c1 = p.setup.criteria
    client = panel_client(make_client, "r1-m0@example.org")
    path = sheet_path(p, p.apps[0])
    old = client.get(path).text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', old).group(1)
    client.post(path, data={f"score_{c0}": "3", "action": "save", "_csrf_token": token})
    fields = dict(re.findall(r'<input type="hidden" name="(seen_[a-z_0-9]+)" value="([^"]*)"', old))
    # The old page still shows criterion 0 unscored; the member only scores criterion 1.
    response = client.post(
        path,
        data={
            **fields,
            f"score_{c0}": "",
            f"score_{c1}": "2",
            "action": "save",
            "_csrf_token": token,
        },
    )
    assert response.status_code == 200, response.text
    assert saved(p.members[0][1])[c0][0] == 3 and saved(p.members[0][1])[c1][0] == 2


def test_an_agreed_score_recorded_meanwhile_is_not_overwritten(settings, make_client):
    p = make_panel(apps=1, members=1)
    client = chair_client(make_client)
    path = f"/panel/rounds/{p.round_id}/moderation/{run(panel_number(p.apps[0]))}"
    stale = client.get(path).text
    seen = re.search(r'name="seen" value="([^"]*)"', stale).group(1)
    criterion = str(p.setup.criteria[0])
    first = post_form(
        client,
        path,
        {"criterion": criterion, "value": "3", "rationale": "Agreed at the meeting.", "seen": seen},
    )
    assert first.status_code == 200, first.text

    second = post_form(
        client,
        path,
        {"criterion": criterion, "value": "1", "rationale": "My own view.", "seen": seen},
    )

    assert second.status_code == 409
    assert "Agreed at the meeting." in second.text and "My own view." in second.text
    [row] = run(AgreedScore.select())
    assert (row["value"], row["rationale"]) == (3, "Agreed at the meeting.")


def test_the_chair_sees_members_comments_beside_the_agreed_score_form(settings, make_client):
    p = make_panel(apps=1, members=1)
    score(p, p.members[0][1], p.apps[0], [2, 3], comments=[COMMENT, ""])
    page = chair_client(make_client).get(
        f"/panel/rounds/{p.round_id}/moderation/{run(panel_number(p.apps[0]))}"
    )
    assert "R1 Member 0: 2" in page.text and COMMENT in page.text


# ---- Submitting asks first, and says where the member is ------------------------------------


def test_submit_asks_to_confirm_and_the_page_says_which_of_how_many(settings, make_client):
    p = make_panel(apps=3, members=1)
    c0, c1 = p.setup.criteria
    client = panel_client(make_client, "r1-m0@example.org")
    path = sheet_path(p, p.apps[0])
    page = client.get(path).text
    assert re.search(r"Application \d of 3 in your queue", page)
    asked = post_form(client, path, {f"score_{c0}": "3", f"score_{c1}": "2", "action": "submit"})
    assert asked.status_code == 200 and "Submit your score sheet for" in asked.text
    assert "cannot change them" in asked.text
    assert run(Score.count()) == 2  # saved, not yet submitted
    from portal.tables import ScoreSheet

    assert run(ScoreSheet.select(ScoreSheet.submitted_at).first())["submitted_at"] is None
    done = post_form(client, f"{path}/submit", {})
    assert "Your score sheet is submitted" in done.text
    assert run(ScoreSheet.select(ScoreSheet.submitted_at).first())["submitted_at"] is not None


# ---- Admins set the scoring deadline and the minimum ---------------------------------------


def test_admin_sets_the_scoring_deadline_and_minimum_with_checks(admin_client, settings):
    p = make_panel(apps=1, members=1)
    path = f"/admin/rounds/{p.round_id}/scoring"
    year = now().year + 1
    refused = post_form(
        admin_client,
        path,
        {"deadline_date": "2020-01-01", "deadline_time": "10:00", "min_score_sheets": "0"},
        token_from=f"/admin/rounds/{p.round_id}",
    )
    assert refused.status_code == 400
    assert "The scoring deadline must be after the round closes." in refused.text
    assert "from 1 to 50" in refused.text
    done = post_form(
        admin_client,
        path,
        {"deadline_date": f"{year}-03-02", "deadline_time": "17:00", "min_score_sheets": "2"},
        token_from=f"/admin/rounds/{p.round_id}",
        follow_redirects=False,
    )
    assert done.status_code == 303
    row = run(Round.select().where(Round.id == p.round_id).first())
    assert row["min_score_sheets"] == 2 and row["scoring_deadline"].year == year
    assert run(AuditEvent.count().where(AuditEvent.action == "round.scoring_settings")) == 1
    page = admin_client.get(f"/admin/rounds/{p.round_id}").text
    assert f'value="{year}-03-02"' in page and 'value="2"' in page
    assert form_token(admin_client, f"/admin/rounds/{p.round_id}")


def test_after_the_scoring_deadline_the_chair_sees_who_is_late(settings, make_client):
    from datetime import timedelta

    from tests.factories import set_scoring_deadline

    p = make_panel(apps=2, members=1)
    for app in p.apps:
        score(p, p.chair[1], app, [3, 3])
    score(p, p.members[0][1], p.apps[0], [2, 2])
    client = chair_client(make_client)
    progress = f"/panel/rounds/{p.round_id}/progress"
    assert "Late" not in client.get(progress).text  # no deadline yet

    run(set_scoring_deadline(p.round_id, now() - timedelta(minutes=1)))

    page = client.get(progress).text
    row = page[page.index("R1 Member 0") :]
    row = row[: row.index("</tr>")]
    assert "Late" in row and "1 not submitted by the scoring deadline" in row
    chair_row = page[page.index("R1 Chair") :]
    assert "Late" not in chair_row[: chair_row.index("</tr>")]
