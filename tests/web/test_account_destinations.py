"""Journeys that used to lose people (issue 10): the destination is kept through
registering, confirming and signing in (a signed, local `next`, never an open redirect),
and panel members land on /panel."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from portal.domain.accounts.links import next_signature
from tests.conftest import form_token, post_form
from tests.factories import add_panel_member, make_round, run, set_stage
from tests.web.test_account_access import PASSWORD, outbox_rows, registered
from tests.web.test_apply_journey import OPEN_ROUND

SECRET_FREE_HOSTILE = [
    "//evil.example/x",
    "https://evil.example/x",
    "/\\evil.example",
    "/admin/seats",
    "javascript:alert(1)",
    "/account/sign-out",
    "/applications/1\r\nSet-Cookie: x=1",
    "/" + "a" * 600,
]


def register(client, email: str = "rae@example.org", next: str = ""):
    return post_form(
        client, "/account/register", {"name": "Rae Applicant", "email": email, "next": next}
    )


def password_sign_in(client, email: str = "rae@example.org", next: str = ""):
    return post_form(
        client,
        "/account/sign-in",
        {"email": email, "password": PASSWORD, "next": next},
        follow_redirects=False,
    )


def ask_for_link(client, next: str = ""):
    return post_form(
        client,
        "/account/sign-in/link",
        {"email": "rae@example.org", "next": next},
        token_from="/account/sign-in",
    )


def mailed_link(row: dict, path: str) -> str:
    """The link to `path` in a mail, with its query, as a local URL."""
    match = re.search(rf"http://testserver\.local({path}[^\s\"<]+)", row["body_text"])
    assert match, row["body_text"]
    return match.group(1)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def confirm_with(client, path: str, **fields: str):
    """Submit the confirmation page's form as a browser would (its hidden fields kept)."""
    page = client.get(path)
    hidden = dict(re.findall(r'<input type="hidden" name="(next|sig)" value="([^"]*)"', page.text))
    data = {"password": PASSWORD, "confirm": PASSWORD, **hidden, **fields}
    return post_form(client, path.split("?")[0], data, token_from=path, follow_redirects=False)


def test_registering_from_a_seats_apply_button_ends_on_that_seats_application(client):
    r = run(make_round(**OPEN_ROUND))
    apply_path = f"/applications/start/{r.round_id}"

    asked = client.get(apply_path)  # the Apply button, signed out
    register_href = re.search(r'href="(/account/register\?next=[^"]+)"', asked.text)
    assert asked.status_code == 401 and register_href
    register_page = client.get(register_href.group(1).replace("&amp;", "&"))
    assert f'name="next" value="{apply_path}"' in register_page.text
    register(client, next=apply_path)
    link = mailed_link(outbox_rows("verify")[-1], "/account/verify/")
    assert query_of(link)["next"] == apply_path
    done = confirm_with(client, link)

    assert done.status_code in (302, 303) and done.headers["location"] == apply_path
    page = client.get(apply_path)
    assert page.status_code == 200 and "Start your application</button>" in page.text


def test_a_mailed_next_that_was_altered_is_not_followed(client):
    r = run(make_round(**OPEN_ROUND))
    register(client, next=f"/applications/start/{r.round_id}")
    link = mailed_link(outbox_rows("verify")[-1], "/account/verify/")
    signed = query_of(link)["sig"]

    done = confirm_with(client, link, next="/applications/999", sig=signed)

    assert done.headers["location"] == "/account/profile?welcome=1"


@pytest.mark.parametrize("target", SECRET_FREE_HOSTILE)
def test_a_hostile_next_is_never_followed_even_when_signed(client, settings, target):
    register(client)
    token_path = mailed_link(outbox_rows("verify")[-1], "/account/verify/").split("?")[0]
    forged = f"{token_path}?next={quote(target)}&sig={next_signature(settings.secret_key, target)}"

    page = client.get(forged)
    done = confirm_with(
        client, forged, next=target, sig=next_signature(settings.secret_key, target)
    )

    assert page.status_code == 200 and "evil" not in page.text
    assert done.headers["location"] == "/account/profile?welcome=1"


@pytest.mark.parametrize("target", SECRET_FREE_HOSTILE)
def test_sign_in_and_register_forms_never_carry_a_hostile_next(client, target):
    registered(client)
    sign_in_page = client.get("/account/sign-in", params={"next": target})
    register_page = client.get("/account/register", params={"next": target})
    signed_in = password_sign_in(client, next=target)

    assert 'name="next" value="' not in sign_in_page.text or 'value=""' in sign_in_page.text
    assert "evil" not in sign_in_page.text and "evil" not in register_page.text
    assert signed_in.headers["location"] == "/account/profile"


def test_password_sign_in_goes_where_the_person_was_going(client):
    registered(client)
    r = run(make_round(**OPEN_ROUND))
    apply_path = f"/applications/start/{r.round_id}"

    page = client.get("/account/sign-in", params={"next": apply_path})
    response = password_sign_in(client, next=apply_path)

    assert f'href="/account/register?next={apply_path}"' in page.text
    assert response.headers["location"] == apply_path


def test_a_sign_in_link_keeps_the_destination(client):
    registered(client)
    r = run(make_round(**OPEN_ROUND))
    apply_path = f"/applications/start/{r.round_id}"

    ask_for_link(client, next=apply_path)
    link = mailed_link(outbox_rows("sign_in")[-1], "/account/link/")
    page = client.get(link)
    hidden = dict(re.findall(r'<input type="hidden" name="(next|sig)" value="([^"]*)"', page.text))
    done = client.post(
        link.split("?")[0],
        data={"_csrf_token": form_token(client, link), **hidden},
        follow_redirects=False,
    )

    assert hidden["next"] == apply_path
    assert done.headers["location"] == apply_path


def test_registering_again_with_an_existing_address_mails_a_sign_in_address_with_next(client):
    registered(client)
    register(client, next="/applications/start/7")

    [mail] = outbox_rows("already_registered")
    assert "/account/sign-in?next=%2Fapplications%2Fstart%2F7" in mail["body_text"]


def test_panel_members_land_on_the_panel_after_sign_in(client):
    user_id = registered(client, email="pat@example.org")
    setup = run(make_round(**OPEN_ROUND))
    run(add_panel_member(setup, email="pat@example.org", name="Pat", user_id=user_id))

    response = password_sign_in(client, email="pat@example.org")

    assert response.headers["location"] == "/panel"


def test_members_of_archived_panels_only_land_on_their_profile(client):
    user_id = registered(client, email="pat@example.org")
    setup = run(make_round(**OPEN_ROUND))
    run(add_panel_member(setup, email="pat@example.org", name="Pat", user_id=user_id))
    run(set_stage(setup.round_id, "archived"))

    response = password_sign_in(client, email="pat@example.org")

    assert response.headers["location"] == "/account/profile"
