"""Outcome letters through the admin pages: choose, preview exactly as sent, send once;
the appointment moves the round to decided; what the applicant then sees; and hostile
input (oversized feedback, someone else's id, wrong stage, not an admin)."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from portal.tables import (
    Application,
    AuditEvent,
    OutboxMessage,
    Outcome,
    Round,
)
from tests.conftest import form_token
from tests.factories import COMMENT, Shortlisted, add_application, make_shortlisted, run
from tests.web.test_shortlist_pack import sign_in_member

FEEDBACK = "Your statement on lived experience was clear.\n\nGive more examples of leadership."


@pytest.fixture
def shortlisted(settings) -> Shortlisted:
    s = run(make_shortlisted())
    run(
        add_application(
            s.setup, email="wes@applicant.example", name="Wes Withdrawn", status="withdrawn"
        )
    )
    return s


def url(s: Shortlisted, tail: str = "") -> str:
    return f"/admin/rounds/{s.setup.round_id}/outcomes{tail}"


def post_letters(client, s: Shortlisted, action: str, data: dict):
    token = form_token(client, url(s))
    return client.post(url(s, f"/{action}"), data={**data, "_csrf_token": token})


def shortlisting(s: Shortlisted, **extra) -> dict:
    return {
        "batch": "shortlisting",
        f"send_{s.first}": "1",
        f"send_{s.unlisted}": "1",
        f"feedback_{s.unlisted}": FEEDBACK,
        **extra,
    }


def outcomes() -> list[dict]:
    return run(Outcome.select().order_by(Outcome.id))


def outbox(kind_prefix: str = "outcome_") -> list[dict]:
    rows = run(OutboxMessage.select().order_by(OutboxMessage.id))
    return [r for r in rows if r["kind"].startswith(kind_prefix)]


def status_of(app_id: int) -> str:
    rows = run(Application.select(Application.status).where(Application.id == app_id))
    return rows[0]["status"]


def stage_of(s: Shortlisted) -> str:
    rows = run(Round.select(Round.stage).where(Round.id == s.setup.round_id))
    return rows[0]["stage"]


# ---- Choosing and previewing ---------------------------------------------------------------


def test_page_lists_each_applicants_letter(admin_client, shortlisted):
    s = shortlisted
    page = admin_client.get(url(s))
    assert page.status_code == 200
    text = page.text
    assert "Outcome letters" in text
    assert "Amara Okafor" in text and "Ben Ng" in text and "Cara Doyle" in text
    assert "Send the “Shortlisted” letter to Amara Okafor" in text
    assert "Send the “Not shortlisted” letter to Cara Doyle" in text
    assert "Wes Withdrawn" not in text  # a withdrawn application gets no letter
    # The panel's comments are offered without who wrote them, and scores never.
    assert COMMENT in text
    assert "Pat Panel" not in text and "Chidi Chair" not in text
    # The round page links here.
    assert url(s) in admin_client.get(f"/admin/rounds/{s.setup.round_id}").text


def test_prefill_starts_feedback_from_the_panels_comments(admin_client, shortlisted):
    s = shortlisted
    page = admin_client.get(url(s, "?prefill=shortlisting"))
    box = re.search(
        rf'<textarea id="shortlisting-feedback_{s.first}"[^>]*>([^<]*)</textarea>', page.text
    )
    assert box and "Criterion 1: " in box.group(1) and str(escape(COMMENT)) in box.group(1)
    assert "Pat Panel" not in box.group(1)


def test_preview_shows_each_letter_exactly_as_sent_and_sends_nothing(admin_client, shortlisted):
    s = shortlisted
    page = post_letters(admin_client, s, "preview", shortlisting(s))
    assert page.status_code == 200, page.text
    assert "Send 2 letters" in page.text
    assert "You have been shortlisted for Racial equity lead" in page.text
    assert "Your application for Racial equity lead" in page.text
    assert "cara@applicant.example" in page.text
    assert str(escape("Give more examples of leadership.")) in page.text
    assert outcomes() == [] and outbox() == []
    # Now send what was previewed: the mails are the letters the preview showed.
    sent = post_letters(admin_client, s, "send", shortlisting(s))
    assert sent.status_code == 200 and "2 letters were queued to send." in sent.text
    for mail in outbox():
        assert str(escape(mail["subject"])) in page.text
        assert str(escape(mail["body_text"])) in page.text
        assert str(escape(mail["body_html"])) in page.text


def test_send_writes_letters_once_and_a_resend_is_refused(admin_client, shortlisted):
    s = shortlisted
    response = post_letters(admin_client, s, "send", shortlisting(s))
    assert response.status_code == 200
    rows = outcomes()
    assert {(r["application"], r["kind"]) for r in rows} == {
        (s.first, "shortlisted"),
        (s.unlisted, "not_shortlisted"),
    }
    assert next(r for r in rows if r["application"] == s.unlisted)["feedback"] == FEEDBACK
    mails = outbox()
    assert {m["dedupe_key"] for m in mails} == {
        f"outcome:{s.first}:shortlisted",
        f"outcome:{s.unlisted}:not_shortlisted",
    }
    assert {m["recipient"] for m in mails} == {"amara@applicant.example", "cara@applicant.example"}
    cara = next(m for m in mails if m["recipient"] == "cara@applicant.example")
    assert "not shortlisted" in cara["body_text"] and "Give more examples" in cara["body_text"]
    for mail in mails:  # never a score, a comment or a panel member's name
        for body in (mail["body_text"], mail["body_html"]):
            assert COMMENT not in body and "Pat Panel" not in body and "Chidi" not in body
    assert status_of(s.unlisted) == "unsuccessful"
    assert status_of(s.first) == "shortlisted"
    events = run(AuditEvent.select().where(AuditEvent.action == "outcome.sent"))
    assert {e["subject_id"] for e in events} == {s.first, s.unlisted}
    # The same form again (a double click, a reload): nothing is sent twice.
    again = post_letters(admin_client, s, "send", shortlisting(s))
    assert again.status_code == 409
    assert "already been sent, so nothing was sent again" in again.text
    assert len(outcomes()) == 2 and len(outbox()) == 2
    # The page shows them as sent, and a later batch sends only the new letter.
    later = post_letters(admin_client, s, "send", shortlisting(s, **{f"send_{s.second}": "1"}))
    assert later.status_code == 200
    assert "1 letter was queued to send. 2 letters had already been queued" in later.text
    assert len(outbox()) == 3


def test_preview_of_letters_already_sent_says_so(admin_client, shortlisted):
    s = shortlisted
    post_letters(admin_client, s, "send", shortlisting(s))
    page = post_letters(admin_client, s, "preview", shortlisting(s))
    assert page.status_code == 409
    assert "Every letter you chose has already been sent." in page.text


def test_edit_returns_to_the_choices_as_entered(admin_client, shortlisted):
    s = shortlisted
    page = post_letters(admin_client, s, "edit", shortlisting(s))
    assert page.status_code == 200
    assert str(escape("Give more examples of leadership.")) in page.text
    assert outcomes() == []


# ---- The appointment -----------------------------------------------------------------------


def appointment(s: Shortlisted, **extra) -> dict:
    return {"batch": "appointment", "appoint": str(s.first), f"send_{s.second}": "1", **extra}


def test_appointment_moves_the_round_to_decided_and_tells_both(admin_client, shortlisted):
    s = shortlisted
    preview = post_letters(admin_client, s, "preview", appointment(s))
    assert preview.status_code == 200
    assert "records the appointment and moves the round to decided" in preview.text
    assert "You have been appointed to Racial equity lead" in preview.text
    assert stage_of(s) == "shortlisted"
    response = post_letters(admin_client, s, "send", appointment(s))
    assert response.status_code == 200
    assert "The appointment is recorded and the round is now decided." in response.text
    assert stage_of(s) == "decided"
    assert status_of(s.first) == "appointed" and status_of(s.second) == "unsuccessful"
    assert {m["dedupe_key"] for m in outbox()} == {
        f"outcome:{s.first}:appointed",
        f"outcome:{s.second}:not_appointed",
    }
    actions = {
        e["action"] for e in run(AuditEvent.select().where(AuditEvent.round == s.setup.round_id))
    }
    assert {"round.stage.decided", "outcome.appointed", "outcome.sent"} <= actions
    # Appointing again (a second click, or someone else) sends nothing.
    again = post_letters(admin_client, s, "send", appointment(s, appoint=str(s.second)))
    assert again.status_code == 409
    assert "already recorded" in again.text
    assert len(outbox()) == 2


def test_appointment_needs_one_shortlisted_applicant(admin_client, shortlisted):
    s = shortlisted
    missing = post_letters(admin_client, s, "send", appointment(s, appoint=""))
    assert missing.status_code == 400
    assert "Choose the applicant who is appointed." in missing.text
    not_listed = post_letters(admin_client, s, "send", appointment(s, appoint=str(s.unlisted)))
    assert not_listed.status_code == 400
    assert "Choose the appointed applicant from the shortlist." in not_listed.text
    junk = post_letters(admin_client, s, "send", appointment(s, appoint="1; DROP TABLE"))
    assert junk.status_code == 400
    assert stage_of(s) == "shortlisted" and outbox() == []


def test_not_appointed_letters_after_the_decision(admin_client, shortlisted):
    s = shortlisted
    post_letters(admin_client, s, "send", {"batch": "appointment", "appoint": str(s.first)})
    assert stage_of(s) == "decided" and len(outbox()) == 1
    page = admin_client.get(url(s))
    assert "Appointed: Amara Okafor" in page.text
    later = post_letters(admin_client, s, "send", {"batch": "appointment", f"send_{s.second}": "1"})
    assert later.status_code == 200
    assert {m["dedupe_key"] for m in outbox()} == {
        f"outcome:{s.first}:appointed",
        f"outcome:{s.second}:not_appointed",
    }


# ---- Wrong stage and hostile input -----------------------------------------------------------


@pytest.mark.parametrize("stage", ["scoring", "archived"])
def test_letters_refused_at_the_wrong_stage(admin_client, settings, stage):
    s = run(make_shortlisted(stage=stage))
    page = admin_client.get(url(s))
    assert page.status_code == 200
    assert "can be sent once the shortlist is confirmed" in page.text
    for action in ("preview", "send"):
        response = post_letters(admin_client, s, action, shortlisting(s))
        assert response.status_code == 409
        assert "this round is at the" in response.text
        response = post_letters(admin_client, s, action, appointment(s))
        assert response.status_code == 409
    assert outcomes() == [] and outbox() == [] and stage_of(s) == stage


def test_oversized_feedback_is_refused_with_a_clear_message(admin_client, shortlisted):
    s = shortlisted
    data = shortlisting(s, **{f"feedback_{s.unlisted}": "x" * 10_000})
    for action in ("preview", "send"):
        response = post_letters(admin_client, s, action, data)
        assert response.status_code == 400
        assert "Keep the feedback to 5,000 characters; it has 10,000." in response.text
        assert (
            f'href="#shortlisting-feedback_{s.unlisted}"' in response.text
        )  # the error summary links to it
    assert outcomes() == [] and outbox() == []
    nul = post_letters(
        admin_client, s, "send", shortlisting(s, **{f"feedback_{s.first}": "a\x00b"})
    )
    assert nul.status_code == 400 and outcomes() == []


def test_another_rounds_application_is_404(admin_client, shortlisted):
    s = shortlisted
    other = run(make_shortlisted(title="Youth justice seat", domain="other.example"))
    for field in (f"send_{other.first}", f"feedback_{other.first}"):
        response = post_letters(admin_client, s, "send", shortlisting(s, **{field: "1"}))
        assert response.status_code == 404
    response = post_letters(admin_client, s, "send", appointment(s, appoint=str(other.first)))
    assert response.status_code == 404
    assert admin_client.get("/admin/rounds/99999999999/outcomes").status_code == 404
    assert outcomes() == [] and outbox() == []


def test_malformed_forms_are_refused(admin_client, shortlisted):
    s = shortlisted
    bad_batch = post_letters(admin_client, s, "send", shortlisting(s, batch="everyone"))
    assert bad_batch.status_code == 400
    nothing = post_letters(admin_client, s, "send", {"batch": "shortlisting"})
    assert nothing.status_code == 400 and "Choose at least one letter to send." in nothing.text
    withdrawn = run(Application.select(Application.id).where(Application.status == "withdrawn"))[0][
        "id"
    ]
    gone = post_letters(admin_client, s, "send", shortlisting(s, **{f"send_{withdrawn}": "1"}))
    assert gone.status_code == 404
    no_token = admin_client.post(url(s, "/send"), data=shortlisting(s))
    assert no_token.status_code == 403
    assert outcomes() == [] and outbox() == []


def test_not_an_admin_is_refused(client, make_client, shortlisted):
    s = shortlisted
    assert client.get(url(s), follow_redirects=False).status_code in (302, 303, 401)
    sign_in_member(client, f"chair{s.setup.round_id}@panel.example")  # even the chair
    assert client.get(url(s)).status_code == 403
    token = form_token(client, "/account/sign-in")
    response = client.post(url(s, "/send"), data={**shortlisting(s), "_csrf_token": token})
    assert response.status_code == 403
    assert outcomes() == [] and outbox() == []


# ---- What the applicant sees -----------------------------------------------------------------


def test_applicant_sees_the_outcome_and_their_feedback_only(admin_client, make_client, shortlisted):
    s = shortlisted
    post_letters(admin_client, s, "send", shortlisting(s))
    cara = make_client()
    sign_in_member(cara, "cara@applicant.example")
    page = cara.get(f"/applications/{s.unlisted}")
    assert page.status_code == 200
    assert "Not shortlisted" in page.text
    assert "The outcome of your application" in page.text
    assert "Give more examples of leadership." in page.text
    for hidden in (COMMENT, "Pat Panel", "Chidi Chair", "7.50", "6.00"):
        assert hidden not in page.text
    # Ben has had no letter yet: no outcome section.
    ben = make_client()
    sign_in_member(ben, "ben@applicant.example")
    assert "The outcome of your application" not in ben.get(f"/applications/{s.second}").text


def test_the_page_counts_queued_letters_as_they_go_and_only_admins_may_ask(
    admin_client, shortlisted, make_client
):
    s = shortlisted
    sent = post_letters(admin_client, s, "send", shortlisting(s))
    assert "2 letters were queued to send." in sent.text
    assert re.search(r'data-count="sent">0<.*data-count="waiting">2<', sent.text, re.S)
    live = url(s, "/delivery")
    assert admin_client.get(live).json() == {"sent": 0, "waiting": 2, "failed": 0}
    first = outbox()[0]
    run(OutboxMessage.update({OutboxMessage.status: "sent"}).where(OutboxMessage.id == first["id"]))
    assert admin_client.get(live).json() == {"sent": 1, "waiting": 1, "failed": 0}
    assert make_client().get(live).status_code in (401, 403)  # signed out
    assert admin_client.get(f"/admin/rounds/{2**40}/outcomes/delivery").status_code == 404
