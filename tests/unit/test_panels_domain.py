"""Panel membership and conflict rules, straight against the domain (no HTTP)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.domain.audit import Actor
from portal.domain.errors import Conflict, DomainError, NotFound
from portal.domain.panels.access import conflicted_application_ids, membership
from portal.domain.panels.conflicts import declare_conflict, round_conflicts, rule_minor
from portal.domain.panels.declarations import make_declarations, parse_organisations
from portal.domain.panels.invitations import (
    LinkGone,
    accept_invitation,
    find_invitation,
    invite_member,
)
from portal.domain.panels.roster import member_state
from portal.mail.compose.panels import compose_panel_invitation
from portal.settings import Settings
from portal.tables import Application, OutboxMessage, PanelMember
from tests.factories import add_application, add_panel_member, make_round, now, run, write

ADMIN = Actor(None, "tester")
WEEK = timedelta(days=7)


def test_parse_organisations_normalises_dedupes_and_limits():
    assert parse_organisations("") == []
    assert parse_organisations(" The  Howard League \n\nthe howard league\r\nNacro") == [
        "The Howard League",
        "Nacro",
    ]
    assert len(parse_organisations("\n".join(f"Org {i}" for i in range(20)))) == 20
    with pytest.raises(DomainError, match="at most 20"):
        parse_organisations("\n".join(f"Org {i}" for i in range(21)))
    with pytest.raises(DomainError, match="under 200"):
        parse_organisations("x" * 201)
    with pytest.raises(DomainError, match="cannot be used"):
        parse_organisations("Bad\x00Org")


def test_member_state_follows_the_timestamps():
    t = now()
    base = {"accepted_at": None, "confidentiality_at": None, "declarations_at": None}
    assert member_state({**base, "token_expires_at": t + WEEK}, t) == "invited"
    assert member_state({**base, "token_expires_at": t - WEEK}, t) == "expired"
    assert member_state({**base, "accepted_at": t, "token_expires_at": None}, t) == "accepted"
    ready = {**base, "accepted_at": t, "confidentiality_at": t, "declarations_at": t}
    assert member_state({**ready, "token_expires_at": None}, t) == "ready"


def _invite(settings, round_id, email="pat@example.org", chair=False):
    return write(
        lambda: invite_member(
            round_id,
            email,
            "Pat Panel",
            chair,
            ADMIN,
            now(),
            WEEK,
            compose_panel_invitation(settings),
        )
    )


def _token_of(message_id: int) -> str:
    row = run(OutboxMessage.select().where(OutboxMessage.id == message_id).first().run())
    return row["body_text"].split("/panel/invitations/")[1].split()[0]


def test_invitation_accepts_once_and_not_after_removal(settings: Settings):
    setup = run(make_round())
    member_id, message_id = _invite(settings, setup.round_id)
    token = _token_of(message_id)
    assert run(find_invitation(token, now()))["id"] == member_id
    with pytest.raises(DomainError, match="at least"):
        write(lambda: accept_invitation(token, "short", "short", None, now()))
    user_id, round_id = write(
        lambda: accept_invitation(
            token, "long enough password", "long enough password", None, now()
        )
    )
    assert round_id == setup.round_id
    assert run(membership(user_id, round_id))["id"] == member_id
    with pytest.raises(LinkGone):
        write(lambda: accept_invitation(token, "x" * 20, "x" * 20, user_id, now()))
    _, msg2 = _invite(settings, setup.round_id, email="q@example.org")
    with pytest.raises(LinkGone, match="expired"):
        run(find_invitation(_token_of(msg2), now() + WEEK + timedelta(seconds=1)))
    with pytest.raises(NotFound):
        run(find_invitation("", now()))


def test_duplicate_invite_is_a_conflict(settings: Settings):
    setup = run(make_round())
    _invite(settings, setup.round_id)
    with pytest.raises(Conflict, match="already on this panel"):
        _invite(settings, setup.round_id)
    assert run(PanelMember.count().run()) == 1


def test_declare_conflict_returns_its_id_and_hides_the_application(settings: Settings):
    setup = run(make_round(stage="scoring"))
    app_id = run(add_application(setup, email="a@example.org", name="Ann", panel_number=3))
    user_id, _ = run(add_panel_member(setup, email="mo@example.org", name="Mo"))
    member = run(membership(user_id, setup.round_id))
    conflict_id = write(lambda: declare_conflict(member, app_id, "personal", "", now()))
    assert isinstance(conflict_id, int)
    assert app_id in run(conflicted_application_ids(member))
    with pytest.raises(NotFound):  # no longer visible to them
        write(lambda: declare_conflict(member, app_id, "personal", "", now()))
    rule = write(lambda: rule_minor(setup.round_id, member["id"], app_id, "Minor.", ADMIN, now()))
    assert rule == conflict_id
    assert app_id not in run(conflicted_application_ids(member))


def test_own_application_is_withheld_from_the_chair_and_never_ruled_minor(settings: Settings):
    setup = run(make_round(stage="scoring"))
    user_id, _ = run(add_panel_member(setup, email="mo@example.org", name="Mo", ready=False))

    async def own_application():
        await Application.insert(
            Application(
                applicant=user_id,
                round=setup.round_id,
                status="submitted",
                reference="SP-OWN",
                panel_number=5,
            )
        )

    write(own_application)
    member = run(membership(user_id, setup.round_id))
    write(lambda: make_declarations(member, True, "", now()))
    [conflict] = run(round_conflicts(setup.round_id))
    assert conflict["source"] == "applicant"
    assert conflict["label"] == "Withheld while the sift is anonymised"
    [admin_view] = run(round_conflicts(setup.round_id, show_names=True))
    assert admin_view["label"] == "Applicant 5" and admin_view["applicant_name"] == "Mo"
    with pytest.raises(DomainError, match="own application"):
        write(
            lambda: rule_minor(
                setup.round_id, member["id"], conflict["application"], "Fine.", ADMIN, now()
            )
        )


def test_application_arriving_after_declarations_is_an_inferred_conflict(settings: Settings):
    setup = run(make_round(stage="scoring"))
    user_id, _ = run(add_panel_member(setup, email="mo@example.org", name="Mo", ready=False))
    member = run(membership(user_id, setup.round_id))
    write(lambda: make_declarations(member, True, "Nacro", now()))
    app_id = run(
        add_application(
            setup, email="a@example.org", name="Ann", organisation="NACRO ", panel_number=2
        )
    )
    member = run(membership(user_id, setup.round_id))
    assert app_id in run(conflicted_application_ids(member))
    [inferred] = run(round_conflicts(setup.round_id))
    assert inferred["inferred"] and inferred["id"] is None and inferred["label"] == "Applicant 2"
    conflict_id = write(
        lambda: rule_minor(setup.round_id, member["id"], app_id, "Left years ago.", ADMIN, now())
    )
    [ruled] = run(round_conflicts(setup.round_id))
    assert ruled["id"] == conflict_id and ruled["decision"] == "minor" and not ruled["inferred"]
    assert app_id not in run(conflicted_application_ids(member))
