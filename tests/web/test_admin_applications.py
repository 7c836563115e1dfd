"""Admin applications: a round's list and CSV, one application (audited), document downloads
(audited), per-applicant extensions with their mail, round-wide extension mails, and access."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.domain.applications.drafts import save_answers
from portal.domain.applications.submission import submit_application
from portal.domain.rounds.deadline import DeadlinePassed
from portal.domain.timerules import utcnow
from portal.tables import (
    Application,
    AuditEvent,
    DeadlineExtension,
    Document,
    OutboxMessage,
    Round,
)
from tests.conftest import post_form
from tests.factories import RoundSetup, apply, make_round, make_user, run, write
from tests.web.test_account_access import password_sign_in, registered
from tests.web.test_api import bearer, make_token

CV = b"%PDF-1.7\n" + b"x" * 100


def make_applicant(email: str, **profile: str) -> int:
    fields = {
        "name": email.split("@")[0].title(),
        "organisation": "Black Justice Network",
        "job_title": "Director",
        "phone": "020 7946 0000",
        "adjustments": "",
        **profile,
    }
    return run(make_user(email, password=None, verified=False, **fields))


def draft(
    user_id: int, parts: RoundSetup, *, answer: str = "Because I care", cv: bytes = CV
) -> int:
    """The applicant's draft with the one answer, a statement and a CV, their own way."""
    return run(apply(parts, user_id, answers=[answer], cv=cv, submit=False))


def submitted(user_id: int, parts: RoundSetup, *, answer: str = "Because I care") -> int:
    return run(apply(parts, user_id, answers=[answer], cv=CV))


def close_round(round_id: int, ago: timedelta = timedelta(hours=1)) -> None:
    run(Round.update({Round.closes_at: utcnow() - ago}).where(Round.id == round_id))


def actions(action: str) -> list[dict]:
    return run(AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id))


def outbox(kind: str) -> list[dict]:
    return run(OutboxMessage.select().where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))


def extension_form(**changes: str | None) -> dict[str, str]:
    data = {"closes_date": "2099-01-05", "closes_time": "10:00", "reason": "Extra time: dyslexia"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def grant(client, app_id: int, **changes: str | None):
    return post_form(
        client,
        f"/admin/applications/{app_id}/extension",
        extension_form(**changes),
        token_from=f"/admin/applications/{app_id}",
        follow_redirects=False,
    )


@pytest.fixture
def parts(settings) -> RoundSetup:
    """A published seat with one question and one criterion, and a round open for two days."""
    return run(
        make_round(
            criteria=[("Lived experience", "", 1)],
            questions=[("Why you?", 50, True)],
            opens_at=-timedelta(days=1),
            closes_at=timedelta(days=2),
            grace_minutes=10,
        )
    )


# ---- The list ---------------------------------------------------------------------


def test_round_page_links_to_its_applications(admin_client, parts):
    page = admin_client.get(f"/admin/rounds/{parts.round_id}")
    assert f'href="/admin/rounds/{parts.round_id}/applications"' in page.text


def test_list_shows_status_reference_received_times_grace_and_extension(admin_client, parts):
    alice = make_applicant("alice@example.org", name="Alice Adeyemi")
    bea = make_applicant("bea@example.org", name="Bea Brown")
    app_a = submitted(alice, parts)
    draft_id = draft(bea, parts)
    run(Application.update({Application.in_grace: True}).where(Application.id == app_a))
    assert grant(admin_client, draft_id).status_code == 303
    reference = run(Application.select().where(Application.id == app_a).first())["reference"]

    page = admin_client.get(f"/admin/rounds/{parts.round_id}/applications")

    assert page.status_code == 200
    assert "Alice Adeyemi" in page.text and "Bea Brown" in page.text
    assert f'href="/admin/applications/{app_a}"' in page.text
    assert f'href="/admin/applications/{draft_id}"' in page.text
    assert reference in page.text
    assert "Submitted" in page.text and "Draft" in page.text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page.text)
    assert "(UK time)" in page.text
    assert "In grace" in page.text
    assert "Extended to 10am on Monday 5 January 2099 (UK time)" in page.text


def test_list_of_unknown_round_is_404(admin_client):
    assert admin_client.get("/admin/rounds/999999/applications").status_code == 404
    assert admin_client.get("/admin/rounds/99999999999/applications").status_code == 404


def test_list_escapes_html_in_applicant_fields(admin_client, parts):
    draft(make_applicant("x@example.org", name="<script>alert(1)</script>"), parts)
    page = admin_client.get(f"/admin/rounds/{parts.round_id}/applications")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


# ---- One application --------------------------------------------------------------


def test_detail_shows_everything_and_is_audited(admin_client, admin_id, parts):
    alice = make_applicant(
        "alice@example.org",
        name="Alice Adeyemi",
        adjustments="Please send papers in large print.",
    )
    app_id = submitted(alice, parts, answer="First answer")
    write(save_answers, app_id, alice, {parts.questions[0]: "Second answer"}, {}, utcnow())
    write(submit_application, app_id, alice)

    page = admin_client.get(f"/admin/applications/{app_id}")

    assert page.status_code == 200
    text = page.text
    for expected in (
        "Alice Adeyemi",
        "alice@example.org",
        "Black Justice Network",
        "Director",
        "020 7946 0000",
        "Please send papers in large print.",
        "Second answer",
        "Twenty years of it",
        "cv.pdf",
        f'href="/admin/applications/{app_id}/documents/cv"',
        hashlib.sha256(CV).hexdigest(),
    ):
        assert expected in text, expected
    # Both versions with their receipt hashes.
    rows = re.findall(r'<th scope="row">(\d)( \(latest\))?</th>', text)
    assert [r[0] for r in rows] == ["2", "1"]
    assert len(re.findall(r'<td class="hash">[0-9a-f]{64}</td>', text)) == 2
    events = actions("application.viewed")
    assert [(e["subject_id"], e["actor"], e["round"]) for e in events] == [
        (app_id, admin_id, parts.round_id)
    ]


def test_detail_of_unknown_application_is_404(admin_client):
    assert admin_client.get("/admin/applications/424242").status_code == 404
    assert admin_client.get("/admin/applications/0").status_code == 404
    assert admin_client.get("/admin/applications/not-a-number").status_code in (404, 400)
    assert actions("application.viewed") == []


# ---- Documents --------------------------------------------------------------------


def test_document_download_is_an_audited_attachment(admin_client, admin_id, parts):
    app_id = draft(make_applicant("alice@example.org"), parts)

    response = admin_client.get(f"/admin/applications/{app_id}/documents/cv")

    assert response.status_code == 200
    assert response.content == CV
    assert response.headers["content-disposition"].startswith('attachment; filename="cv.pdf"')
    assert response.headers["x-content-type-options"] == "nosniff"
    events = actions("document.downloaded")
    assert len(events) == 1
    assert (events[0]["subject_id"], events[0]["actor"]) == (app_id, admin_id)


def test_document_download_with_hostile_name_is_safe(admin_client, parts):
    alice = make_applicant("alice@example.org")
    app_id = draft(alice, parts)
    run(
        Document.update({Document.filename: '../../é"x\r\nSet-Cookie: a=b.pdf'}).where(
            Document.application == app_id
        )
    )

    response = admin_client.get(f"/admin/applications/{app_id}/documents/cv")

    disposition = response.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert "../" not in disposition and "Set-Cookie:" not in disposition.split(";")[1]
    assert "filename*=UTF-8''" in disposition


def test_unknown_document_kind_or_application_is_404(admin_client, parts):
    app_id = draft(make_applicant("alice@example.org"), parts)
    assert admin_client.get(f"/admin/applications/{app_id}/documents/supporting").status_code == 404
    assert (
        admin_client.get(f"/admin/applications/{app_id}/documents/{'x' * 300}").status_code == 404
    )
    assert admin_client.get("/admin/applications/999999/documents/cv").status_code == 404
    assert actions("document.downloaded") == []


# ---- CSV --------------------------------------------------------------------------


def test_csv_export_parses_back_with_bom_and_is_audited(admin_client, admin_id, parts):
    alice = make_applicant("alice@example.org", name="Siân Zoë", organisation='Café, "Ltd"')
    app_id = submitted(alice, parts)
    reference = run(Application.select().where(Application.id == app_id).first())["reference"]

    response = admin_client.get(f"/admin/rounds/{parts.round_id}/applications.csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Reference",
        "Status",
        "Applicant name",
        "Email",
        "Organisation",
        "Received (UTC)",
        "Received (local)",
        "In grace",
        "Extension",
    ]
    assert rows[1][:5] == [reference, "submitted", "Siân Zoë", "alice@example.org", 'Café, "Ltd"']
    assert rows[1][5].endswith(" UTC") and rows[1][6].endswith("(UK time)")
    assert rows[1][7:] == ["no", ""]
    events = actions("applications.exported")
    assert [(e["subject_id"], e["actor"]) for e in events] == [(parts.round_id, admin_id)]


@pytest.mark.parametrize(
    "hostile",
    ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_csv_export_neutralises_formulas(admin_client, parts, hostile):
    draft(make_applicant("alice@example.org", name=hostile, organisation=hostile), parts)

    response = admin_client.get(f"/admin/rounds/{parts.round_id}/applications.csv")

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert rows[1][2] == "'" + hostile
    assert rows[1][4] == "'" + hostile


def test_csv_of_unknown_round_is_404(admin_client):
    assert admin_client.get("/admin/rounds/999999/applications.csv").status_code == 404
    assert actions("applications.exported") == []


# ---- Per-applicant extension --------------------------------------------------------


def test_extension_is_saved_audited_and_mailed(admin_client, admin_id, parts):
    alice = make_applicant("alice@example.org", name="Alice Adeyemi")
    app_id = draft(alice, parts)

    response = grant(admin_client, app_id)

    assert response.status_code == 303
    page = admin_client.get(response.headers["location"])
    assert "deadline was extended" in page.text
    assert "10am on Monday 5 January 2099 (UK time)" in page.text
    row = run(DeadlineExtension.select().where(DeadlineExtension.applicant == alice).first())
    assert row["closes_at"] == datetime(2099, 1, 5, 10, 0, tzinfo=UTC)
    assert (row["reason"], row["granted_by"], row["round"]) == (
        "Extra time: dyslexia",
        admin_id,
        parts.round_id,
    )
    events = actions("application.extension_granted")
    assert len(events) == 1 and events[0]["actor"] == admin_id
    mails = outbox("extension_granted")
    assert len(mails) == 1
    mail = mails[0]
    assert mail["recipient"] == "alice@example.org"
    assert "10am on Monday 5 January 2099 (UK time)" in mail["subject"]
    assert "Hello Alice Adeyemi" in mail["body_text"]
    assert "Racial equity lead" in mail["body_text"]
    assert "10am on Monday 5 January 2099 (UK time)" in mail["body_html"]
    assert f"http://testserver.local/applications/{app_id}" in mail["body_text"]
    assert "dyslexia" not in mail["body_text"] + mail["body_html"]  # the reason stays with admins


def test_applicant_with_extension_can_submit_after_close_and_other_cannot(admin_client, parts):
    alice = make_applicant("alice@example.org")
    bea = make_applicant("bea@example.org")
    app_a, app_b = draft(alice, parts), draft(bea, parts)
    assert grant(admin_client, app_a).status_code == 303
    close_round(parts.round_id)

    receipt = write(submit_application, app_a, alice)
    with pytest.raises(DeadlinePassed) as refused:
        write(submit_application, app_b, bea)

    assert receipt.reference and not receipt.in_grace
    assert "This round closed at" in refused.value.message
    statuses = {
        r["id"]: r["status"] for r in run(Application.select(Application.id, Application.status))
    }
    assert statuses == {app_a: "submitted", app_b: "draft"}


def _assert_refused(response, message: str, app_id: int) -> None:
    assert response.status_code == 400, response.text[:500]
    assert "There is a problem" in response.text
    assert message in response.text
    assert run(DeadlineExtension.count()) == 0
    assert outbox("extension_granted") == []
    assert run(Application.select().where(Application.id == app_id).first())["status"] == "draft"


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"closes_date": "05/01/2099"}, "Enter the date as year-month-day"),
        ({"closes_date": "2099-02-30"}, "Enter the date as year-month-day"),
        ({"closes_time": "25:00"}, "Enter the time as hours:minutes"),
        ({"closes_time": "10:00+05:00"}, "Enter the time as hours:minutes"),
        ({"closes_date": "2099-03-29", "closes_time": "01:30"}, "does not exist in UK time"),
        ({"closes_date": "2099-10-25", "closes_time": "01:30"}, "happens twice in UK time"),
        ({"closes_date": "2001-01-01"}, "later than the round&#39;s closing time"),
        ({"reason": ""}, "Give a reason"),
        ({"reason": "   "}, "Give a reason"),
        ({"reason": None}, "Give a reason"),
        ({"reason": "x" * 2001}, "Keep the reason under 2000 characters"),
    ],
)
def test_extension_form_refuses_hostile_input(admin_client, parts, changes, message):
    app_id = draft(make_applicant("alice@example.org"), parts)

    response = grant(admin_client, app_id, **changes)

    _assert_refused(response, message, app_id)


def test_extension_form_keeps_what_was_entered_and_escapes_it(admin_client, parts):
    app_id = draft(make_applicant("alice@example.org"), parts)

    response = grant(admin_client, app_id, closes_date="nope", reason="<b>x</b>")

    assert response.status_code == 400
    assert "&lt;b&gt;x&lt;/b&gt;</textarea>" in response.text
    assert 'value="nope"' in response.text


def test_extension_earlier_than_closing_time_states_it(admin_client, parts):
    app_id = draft(make_applicant("alice@example.org"), parts)
    closes = run(Round.select().where(Round.id == parts.round_id).first())["closes_at"]
    before = (closes - timedelta(hours=1)).astimezone(ZoneInfo("Europe/London"))

    response = grant(
        admin_client,
        app_id,
        closes_date=before.date().isoformat(),
        closes_time=f"{before:%H:%M}",
    )

    _assert_refused(response, "must be later than the round", app_id)


def test_extension_not_later_than_current_one_is_refused(admin_client, parts):
    app_id = draft(make_applicant("alice@example.org"), parts)
    assert grant(admin_client, app_id).status_code == 303

    response = grant(admin_client, app_id, closes_date="2099-01-04")

    assert response.status_code == 400
    assert "later than this applicant" in response.text
    assert run(DeadlineExtension.count()) == 1


def test_extension_body_of_2mb_is_refused(admin_client, parts):
    app_id = draft(make_applicant("alice@example.org"), parts)

    response = grant(admin_client, app_id, reason="x" * 2_000_000)

    assert response.status_code == 413
    assert run(DeadlineExtension.count()) == 0


def test_extension_for_unknown_application_is_404(admin_client, parts):
    app_id = draft(make_applicant("alice@example.org"), parts)
    response = post_form(
        admin_client,
        "/admin/applications/999999/extension",
        extension_form(),
        token_from=f"/admin/applications/{app_id}",
    )
    assert response.status_code == 404
    assert run(DeadlineExtension.count()) == 0


def test_extension_after_round_moved_on_is_refused(admin_client, parts):
    app_id = draft(make_applicant("alice@example.org"), parts)
    close_round(parts.round_id)
    run(Round.update({Round.stage: "scoring"}).where(Round.id == parts.round_id))

    response = grant(admin_client, app_id)

    assert response.status_code == 409
    assert "moved past collecting applications" in response.text
    assert run(DeadlineExtension.count()) == 0


# ---- Round-wide extension -----------------------------------------------------------


def test_round_extension_mails_each_applicant_with_a_draft(admin_client, parts):
    alice = make_applicant("alice@example.org", name="Alice Adeyemi")
    bea = make_applicant("bea@example.org")
    app_a = draft(alice, parts)
    submitted(bea, parts)

    response = post_form(
        admin_client,
        f"/admin/rounds/{parts.round_id}/extend",
        {"closes_date": "2099-06-01", "closes_time": "12:00", "reason": "Site outage"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    mails = outbox("round_extended")
    assert [m["recipient"] for m in mails] == ["alice@example.org"]
    mail = mails[0]
    assert "12 noon on Monday 1 June 2099 (UK time)" in mail["subject"]
    assert "Hello Alice Adeyemi" in mail["body_text"]
    assert "It is now: 12 noon on Monday 1 June 2099 (UK time)" in mail["body_text"]
    assert "still a draft" in mail["body_html"]
    assert f"http://testserver.local/applications/{app_a}" in mail["body_text"]
    extension = run(DeadlineExtension.select().where(DeadlineExtension.applicant.is_null()).first())
    assert mail["dedupe_key"] == f"round-extended:{extension['id']}:{alice}"


def test_round_extension_through_the_api_mails_drafts(client, admin_id, parts):
    draft(make_applicant("alice@example.org"), parts)

    response = client.post(
        f"/api/v1/rounds/{parts.round_id}/extend",
        json={"closes": "2099-06-01T11:00:00Z", "reason": "Site outage"},
        headers=bearer(make_token(admin_id)),
    )

    assert response.status_code == 200, response.text
    mails = outbox("round_extended")
    assert [m["recipient"] for m in mails] == ["alice@example.org"]
    assert "12 noon on Monday 1 June 2099 (UK time)" in mails[0]["body_text"]


# ---- Access ---------------------------------------------------------------------------


def _routes(parts: RoundSetup, app_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"/admin/rounds/{parts.round_id}/applications"),
        ("GET", f"/admin/rounds/{parts.round_id}/applications.csv"),
        ("GET", f"/admin/applications/{app_id}"),
        ("GET", f"/admin/applications/{app_id}/documents/cv"),
        ("POST", f"/admin/applications/{app_id}/extension"),
    ]


def _try(client, method: str, path: str):
    if method == "GET":
        return client.get(path, follow_redirects=False)
    return post_form(client, path, extension_form(), token_from="/admin/sign-in")


def test_signed_out_visitor_gets_401_everywhere(client, parts):
    app_id = draft(make_applicant("alice@example.org"), parts)
    # The seat and round were made through the domain, which audits them: count from here.
    audited = AuditEvent.count().where(AuditEvent.action != "application.restarted")
    before = run(audited)
    for method, path in _routes(parts, app_id):
        assert _try(client, method, path).status_code == 401, path
    assert run(audited) == before
    assert run(DeadlineExtension.count()) == 0


def test_applicant_gets_403_everywhere_even_on_their_own(client, parts):
    own = registered(client)
    password_sign_in(client)
    app_id = draft(own, parts)
    for method, path in _routes(parts, app_id):
        assert _try(client, method, path).status_code == 403, path
    assert actions("application.viewed") == actions("document.downloaded") == []
    assert run(DeadlineExtension.count()) == 0
