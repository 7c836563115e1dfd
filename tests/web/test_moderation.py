"""Moderation: the SQL aggregation (which sheets count), the chair's page (chair of that
round only), and agreed scores with their hostile inputs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from portal import db
from portal.domain.scoring.tally import round_scores
from portal.tables import (
    AgreedScore,
    Application,
    AuditEvent,
    PanelConflict,
    PanelMember,
    PanelOrganisation,
    Round,
)
from tests.conftest import form_token, post_form
from tests.factories import (
    PASSWORD,
    RoundSetup,
    add_application,
    add_panel_member,
    advance_round,
    insert_sheet,
    make_round,
    now,
    panel_number,
    run,
    write,
)


@dataclass
class Panel:
    setup: RoundSetup
    chair: tuple[int, int]  # (user id, member id)
    members: list[tuple[int, int]] = field(default_factory=list)

    @property
    def round_id(self) -> int:
        return self.setup.round_id

    @property
    def apps(self) -> list[int]:
        return self.setup.applications


async def _panel(
    prefix: str, *, anonymised: bool, stage: str, apps: int, members: int, orgs: tuple
) -> Panel:
    setup = await make_round(
        stage=stage, anonymised=anonymised, slug=f"{prefix}-seat", weights=(2, 1)
    )
    chair = await add_panel_member(
        setup, email=f"{prefix}-chair@example.org", name=f"{prefix.title()} Chair", role="chair"
    )
    panel = Panel(setup=setup, chair=chair)
    for i in range(members):
        panel.members.append(
            await add_panel_member(
                setup, email=f"{prefix}-m{i}@example.org", name=f"{prefix.title()} Member {i}"
            )
        )
    for i in range(apps):
        await add_application(
            setup,
            email=f"{prefix}-a{i}@example.org",
            name=f"Named Person {prefix} {i}",
            organisation=orgs[i] if i < len(orgs) else "",
            panel_number=i + 1,
        )
    return panel


def make_panel(
    prefix: str = "r1",
    *,
    anonymised: bool = True,
    stage: str = "scoring",
    apps: int = 3,
    members: int = 2,
    orgs: tuple = (),
) -> Panel:
    return run(
        _panel(prefix, anonymised=anonymised, stage=stage, apps=apps, members=members, orgs=orgs)
    )


def score(panel: Panel, member_id: int, app_id: int, values, *, submitted=True, comments=None):
    """A member's sheet for an application, inserted directly: values per criterion, in order."""
    return run(
        insert_sheet(
            member_id, app_id, panel.setup.criteria, values, submitted=submitted, comments=comments
        )
    )


def insert(row) -> None:
    write(lambda: row.__class__.insert(row))


def results(panel: Panel) -> dict[int, object]:
    async def go():
        async with db.read_transaction():
            return await round_scores(panel.round_id)

    scores = run(go())
    return {r.result.application_id: r for r in scores.ranked}


def panel_client(make_client, email: str):
    client = make_client()
    response = post_form(
        client, "/account/sign-in", {"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code in (302, 303), response.text
    return client


def chair_client(make_client, prefix: str = "r1"):
    return panel_client(make_client, f"{prefix}-chair@example.org")


# ---- The SQL aggregation ------------------------------------------------------------


def test_means_spreads_and_scorers_count_only_submitted_sheets(settings):
    p = make_panel(members=3)
    chair, (m0, m1, m2) = p.chair[1], [m[1] for m in p.members]
    score(p, chair, p.apps[0], [4, 2])
    score(p, m0, p.apps[0], [2, 3])
    score(p, m1, p.apps[0], [1, 4])
    score(p, m2, p.apps[0], [0, 0], submitted=False)  # a draft sheet never counts
    r = results(p)[p.apps[0]].result
    a, b = r.criteria
    assert (a.tally.count, str(a.mean), a.spread) == (3, "7/3", 3)
    assert (b.tally.count, str(b.mean), b.spread) == (3, "3", 2)
    assert r.scorers == 3 and r.complete
    assert r.total == 2 * a.mean + b.mean
    assert r.disagreement
    # Nobody scored the other two: incomplete, not ranked, never 0.
    assert not results(p)[p.apps[1]].result.complete
    assert results(p)[p.apps[1]].label == "Not ranked"


def test_excluded_conflicts_do_not_count_and_minor_ones_do(settings):
    p = make_panel(members=2)
    (m0, m1) = [m[1] for m in p.members]
    score(p, m0, p.apps[0], [4, 4])
    score(p, m1, p.apps[0], [0, 0])
    score(p, m0, p.apps[1], [3, 3])
    score(p, m1, p.apps[1], [1, 1])
    insert(PanelConflict(member=m0, application=p.apps[0], kind="personal", decision="excluded"))
    insert(PanelConflict(member=m1, application=p.apps[1], kind="other", decision="minor"))
    r = results(p)
    assert (r[p.apps[0]].result.scorers, r[p.apps[0]].result.excluded) == (1, 1)
    assert r[p.apps[0]].result.total == 0
    assert (r[p.apps[1]].result.scorers, r[p.apps[1]].result.excluded) == (2, 0)
    assert r[p.apps[1]].result.total == 2 * 2 + 2


def test_organisation_conflicts_count_once_with_or_without_a_row(settings):
    p = make_panel(members=2, orgs=("The  Howard League", "Howard League", "Other Org"))
    (m0, m1) = [m[1] for m in p.members]
    insert(PanelOrganisation(member=m0, name="the howard league", normalised="the howard league"))
    # Materialised for app 0 (as the declarations helper may do), not for app 1.
    insert(
        PanelConflict(
            member=m0, application=p.apps[0], kind="organisational", source="organisation"
        )
    )
    for app in p.apps:
        score(p, m0, app, [4, 4])
        score(p, m1, app, [2, 2])
    r = results(p)
    assert (r[p.apps[0]].result.scorers, r[p.apps[0]].result.excluded) == (1, 1)
    # "Howard League" is not "the howard league": it counts.
    assert (r[p.apps[1]].result.scorers, r[p.apps[1]].result.excluded) == (2, 0)
    assert (r[p.apps[2]].result.scorers, r[p.apps[2]].result.excluded) == (2, 0)
    assert r[p.apps[0]].result.total == 2 * 2 + 2


def test_organisation_match_without_row_is_excluded_and_minor_ruling_readmits(settings):
    p = make_panel(members=1, orgs=("Nacro", "nacro "))
    m0 = p.members[0][1]
    insert(PanelOrganisation(member=m0, name="NACRO", normalised="nacro"))
    insert(PanelConflict(member=m0, application=p.apps[1], kind="organisational", decision="minor"))
    for app in p.apps[:2]:
        score(p, m0, app, [3, 3])
    r = results(p)
    assert (r[p.apps[0]].result.scorers, r[p.apps[0]].result.excluded) == (0, 1)
    assert (r[p.apps[1]].result.scorers, r[p.apps[1]].result.excluded) == (1, 0)


def test_removed_members_and_withdrawn_applications_do_not_count(settings):
    p = make_panel(members=2)
    (m0, m1) = [m[1] for m in p.members]
    score(p, m0, p.apps[0], [4, 4])
    score(p, m1, p.apps[0], [0, 0])

    async def changes():
        async with db.write_transaction():
            await PanelMember.update({PanelMember.removed_at: now()}).where(PanelMember.id == m1)
            await Application.update({Application.status: "withdrawn"}).where(
                Application.id == p.apps[2]
            )

    run(changes())
    r = results(p)
    assert r[p.apps[0]].result.scorers == 1 and r[p.apps[0]].result.total == 12
    assert p.apps[2] not in r


def test_agreed_score_replaces_the_mean_and_completes_a_missing_criterion(settings):
    p = make_panel(members=1)
    m0 = p.members[0][1]
    score(p, m0, p.apps[0], [1, None])
    assert not results(p)[p.apps[0]].result.complete
    insert(
        AgreedScore(application=p.apps[0], criterion=p.setup.criteria[1], value=3, rationale="ok")
    )
    insert(
        AgreedScore(application=p.apps[0], criterion=p.setup.criteria[0], value=4, rationale="ok")
    )
    r = results(p)[p.apps[0]].result
    assert r.complete and r.total == 2 * 4 + 3


# ---- The chair's page ---------------------------------------------------------------


def test_chair_sees_labels_totals_flags_and_an_accessible_table(settings, make_client):
    p = make_panel(members=2)
    (m0, m1) = [m[1] for m in p.members]
    score(p, m0, p.apps[0], [4, 1])
    score(p, m1, p.apps[0], [2, 1])
    score(p, m0, p.apps[1], [3, 3])
    page = chair_client(make_client).get(f"/panel/rounds/{p.round_id}/moderation")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Applicant 1" in text and "Named Person" not in text
    assert "<caption" in text and 'scope="col"' in text and 'scope="row"' in text
    assert "<strong>Yes:</strong> Criterion 1 (spread 2)" in text
    assert "Incomplete" in text and "No score for Criterion 1, Criterion 2" in text
    # Applicant 2 (9) above Applicant 1 (7) above Applicant 3 (incomplete, not ranked).
    assert text.index("Applicant 2") < text.index("Applicant 1") < text.index("Applicant 3")
    assert "Mean 3" in text and "spread 2" in text
    assert f"/panel/rounds/{p.round_id}/moderation/{p.apps[0]}" in text
    assert "Propose the shortlist" in text


def test_identities_show_when_the_round_is_not_anonymised(settings, make_client):
    make_panel(anonymised=False)
    page = chair_client(make_client).get(f"/panel/rounds/{results_round_id('r1')}/moderation")
    assert "Named Person r1 0" in page.text


def results_round_id(prefix: str) -> int:
    from portal.tables import PanelMember

    row = run(
        PanelMember.select(PanelMember.round)
        .where(PanelMember.user.email == f"{prefix}-chair@example.org")
        .first()
    )
    return row["round"]


@pytest.mark.parametrize("who", ["member", "other_chair", "applicant", "stranger"])
def test_only_the_chair_of_that_round_sees_moderation(settings, make_client, who):
    p = make_panel()
    make_panel("r2")
    email = {
        "member": "r1-m0@example.org",
        "other_chair": "r2-chair@example.org",
        "applicant": "r1-a0@example.org",
        "stranger": "r2-a0@example.org",
    }[who]
    client = panel_client(make_client, email)
    for path in (
        f"/panel/rounds/{p.round_id}/moderation",
        f"/panel/rounds/{p.round_id}/moderation/{p.apps[0]}",
        f"/panel/rounds/{p.round_id}/shortlist",
    ):
        assert client.get(path).status_code == 404, path
    response = client.post(
        f"/panel/rounds/{p.round_id}/moderation/{p.apps[0]}",
        data={"criterion": p.setup.criteria[0], "value": "3", "rationale": "x"},
    )
    assert response.status_code in (403, 404)  # CSRF first, then 404
    assert not run(AgreedScore.select())


def test_signed_out_and_admin_are_refused(settings, client, admin_client):
    p = make_panel()
    assert admin_client.get(f"/panel/rounds/{p.round_id}/moderation").status_code == 404


def test_unknown_round_is_404(settings, make_client):
    make_panel()
    client = chair_client(make_client)
    assert client.get("/panel/rounds/999999/moderation").status_code == 404
    assert client.get("/panel/rounds/99999999999/moderation").status_code == 404


# ---- Agreed scores ------------------------------------------------------------------


def agreed_path(p: Panel, app_id: int | None = None) -> str:
    """The agreed-score page: panel URLs carry the panel number, never the id."""
    return f"/panel/rounds/{p.round_id}/moderation/{run(panel_number(app_id or p.apps[0]))}"


def test_agreed_score_is_saved_audited_and_replaces_the_mean(settings, make_client):
    p = make_panel(members=2)
    (m0, m1) = [m[1] for m in p.members]
    score(p, m0, p.apps[0], [4, 1])
    score(p, m1, p.apps[0], [1, 1])
    client = chair_client(make_client)
    form = client.get(agreed_path(p))
    assert form.status_code == 200 and "Record an agreed score" in form.text
    assert "disagreement: spread 3" in form.text
    data = {"criterion": str(p.setup.criteria[0]), "value": "3", "rationale": "We agreed 3."}
    response = post_form(client, agreed_path(p), data, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert "The agreed score is saved" in page.text and "Agreed 3" in page.text
    assert results(p)[p.apps[0]].result.total == 2 * 3 + 1
    data["value"], data["rationale"] = "2", "Second thoughts."
    post_form(client, agreed_path(p), data)
    rows = run(AgreedScore.select())
    assert [(r["value"], r["rationale"]) for r in rows] == [(2, "Second thoughts.")]
    events = run(AuditEvent.select().where(AuditEvent.action == "moderation.agreed_score"))
    assert len(events) == 2 and events[-1]["subject_id"] == p.apps[0]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"rationale": ""}, "rationale", "Give the rationale"),
        ({"rationale": "   "}, "rationale", "Give the rationale"),
        ({"rationale": "x" * 2001}, "rationale", "2000 characters"),
        ({"value": "5"}, "value", "from 0 to 4"),
        ({"value": "-1"}, "value", "from 0 to 4"),
        ({"value": "2.5"}, "value", "from 0 to 4"),
        ({"value": "three"}, "value", "from 0 to 4"),
        ({"value": ""}, "value", "from 0 to 4"),
        ({"value": "9" * 50}, "value", "from 0 to 4"),
        ({"criterion": ""}, "criterion", "Choose one of the criteria"),
        ({"criterion": "abc"}, "criterion", "Choose one of the criteria"),
        ({"criterion": "99999999999999"}, "criterion", "Choose one of the criteria"),
        ({"criterion": "OTHER"}, "criterion", "Choose one of the criteria"),
    ],
)
def test_agreed_score_hostile_inputs(settings, make_client, changes, field, message):
    p = make_panel()
    other = make_panel("r2")
    client = chair_client(make_client)
    data = {"criterion": str(p.setup.criteria[0]), "value": "3", "rationale": "Because."}
    data.update(changes)
    if data["criterion"] == "OTHER":
        data["criterion"] = str(other.setup.criteria[0])  # another seat's criterion
    response = post_form(client, agreed_path(p), data)
    assert response.status_code == 400
    assert message in response.text
    assert f'href="#{field}"' in response.text  # the error summary links to the field
    assert not run(AgreedScore.select())


def test_agreed_score_refused_for_others_records(settings, make_client):
    p = make_panel()
    other = make_panel("r2")
    client = chair_client(make_client)
    data = {"criterion": str(p.setup.criteria[0]), "value": "3", "rationale": "Because."}
    token_from = agreed_path(p)
    # Another round's application, an id that cannot exist, a draft and a conflicted one.
    draft = run(add_application(p.setup, email="d@example.org", name="Draft", status="draft"))
    insert(PanelConflict(member=p.chair[1], application=p.apps[1], kind="personal"))
    for app_id in (other.apps[0], 2**31, draft, p.apps[1]):
        response = post_form(
            client,
            f"/panel/rounds/{p.round_id}/moderation/{app_id}",
            data,
            token_from=token_from,
        )
        assert response.status_code == 404, app_id
    # The other round's application through the other round's path: not this chair's.
    response = post_form(
        client,
        agreed_path(other),
        data | {"criterion": str(other.setup.criteria[0])},
        token_from=token_from,
    )
    assert response.status_code == 404
    assert not run(AgreedScore.select())


def test_agreed_score_refused_after_scoring_and_oversized(settings, make_client):
    p = make_panel()
    client = chair_client(make_client)
    data = {"criterion": str(p.setup.criteria[0]), "value": "3", "rationale": "Because."}
    token = form_token(client, agreed_path(p))
    big = client.post(
        agreed_path(p), data={**data, "rationale": "x" * 40_000, "_csrf_token": token}
    )
    assert big.status_code == 413
    run(advance_round(p.round_id, "shortlisted"))
    response = client.post(agreed_path(p), data={**data, "_csrf_token": token})
    assert response.status_code == 409
    assert "has moved on" in response.text
    assert "Record an agreed score" not in client.get(agreed_path(p)).text
    assert not run(AgreedScore.select())


def test_not_ready_chair_is_sent_to_declare_first(settings, make_client):
    p = make_panel()

    async def unready():
        async with db.write_transaction():
            await PanelMember.update({PanelMember.declarations_at: None}).where(
                PanelMember.id == p.chair[1]
            )

    run(unready())
    response = chair_client(make_client).get(
        f"/panel/rounds/{p.round_id}/moderation", follow_redirects=False
    )
    assert response.status_code in (302, 303, 409)
    assert "Applicant 1" not in response.text


def test_moderation_pages_through_a_big_round(settings, make_client, monkeypatch):
    from portal.web.panel import moderation as pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    p = make_panel(members=1)
    m0 = p.members[0][1]
    for app, values in zip(p.apps, ([1, 1], [2, 2], [3, 3]), strict=True):
        score(p, m0, app, values)
    client = chair_client(make_client)
    base = f"/panel/rounds/{p.round_id}/moderation"
    first = client.get(base).text
    assert "Applications 1 to 2 of 3" in first and "Page 1 of 2" in first
    assert "Applicant 3" in first and "Applicant 1" not in first
    assert f'href="{base}?page=2" rel="next"' in first
    second = client.get(f"{base}?page=2").text
    assert "Applications 3 to 3 of 3" in second and "Applicant 1" in second
    assert f'href="{base}?page=1" rel="prev"' in second
    for odd in ("abc", "0", "-1", "99999999999999999999", "٣"):
        assert "Page 1 of 2" in client.get(f"{base}?page={odd}").text, odd
    assert "Page 2 of 2" in client.get(f"{base}?page=999").text
    # Back from an agreed score: the page holding that application.
    assert "Page 2 of 2" in client.get(f"{base}?application={p.apps[0]}").text


def test_a_conflicted_chair_sees_no_scores_of_that_application(settings, make_client):
    p = make_panel(members=1)
    m0 = p.members[0][1]
    score(p, m0, p.apps[0], [4, 3])
    score(p, m0, p.apps[1], [1, 1])
    score(p, m0, p.apps[2], [2, 2])
    insert(PanelConflict(member=p.chair[1], application=p.apps[0], kind="personal"))
    run(Round.update({Round.min_score_sheets: 1}).where(Round.id == p.round_id))
    client = chair_client(make_client)
    page = client.get(f"/panel/rounds/{p.round_id}/moderation").text
    assert "Hidden: you have a conflict with this application" in page
    assert "Mean 4" not in page and "11" not in page.split("Hidden:")[0][-200:]
    assert f"/moderation/{run(panel_number(p.apps[0]))}" not in page
    post_form(client, f"/panel/rounds/{p.round_id}/shortlist", {"method": "top_n", "top_n": "1"})
    shortlist = client.get(f"/panel/rounds/{p.round_id}/shortlist").text
    assert "Hidden (you have a conflict)" in shortlist


def test_agreed_score_malformed_bodies_are_refused_cleanly(settings, make_client):
    p = make_panel()
    client = chair_client(make_client)
    token = form_token(client, agreed_path(p))
    criterion = str(p.setup.criteria[0])
    repeated = client.post(
        agreed_path(p),
        content=f"criterion={criterion}&criterion={p.setup.criteria[1]}&value=3&value=4"
        f"&rationale=x&_csrf_token={token}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 400
    as_json = client.post(
        agreed_path(p),
        json={"criterion": criterion, "value": "3", "rationale": "x"},
        headers={"x-csrftoken": token},
    )
    assert as_json.status_code in (400, 415)
    assert not run(AgreedScore.select())
