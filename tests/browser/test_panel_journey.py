"""The panel journey of issue 5 in Chromium, with axe-core WCAG 2.2 AA at every step.

An admin (desktop) closes an open round with four submitted applications, moves it to
scoring on the round page and invites two people to the panel, one as chair. Each
opens the invitation link from the live server's mailbox on a phone-sized screen,
chooses a password and makes the declarations: the member names an applicant's
organisation (that application disappears) and declares a conflict on another, then
scores the two left with "Save and next" and submits both sheets. The chair scores all
four, records an agreed score with a rationale, and proposes the top two; the admin
confirms, the round is shortlisted, the pack mail arrives and the member reads the
shortlisted names in the pack.

The round and its applications are seeded in a subprocess on the live server's own
database (tests/browser/seeds.py), as in the other browser tests; everything after is clicked.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import (
    axe_check,
    declare_conflict,
    fits_the_screen,
    link_from_mailbox,
    mail_containing,
    panel_numbers,
    record_agreed_score,
    seed_round,
    sign_in,
)

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
PASSWORD = "panel journey password"
SEAT = "Youth justice seat"
LABELS = ("No evidence", "Limited evidence", "Some evidence", "Good evidence", "Strong evidence")
NAMES = ("Ada Achebe", "Ben Okoro", "Cal Lewis", "Dee Marsh")


def score(page, c1: int, c2: int) -> None:
    """Choose a score on each criterion by its visible label."""
    for criterion, value in (("Criterion 1 (weight 2)", c1), ("Criterion 2 (weight 1)", c2)):
        page.get_by_role("group", name=criterion).get_by_label(
            f"{value}: {LABELS[value]}", exact=True
        ).check()


def join_panel(page, mailbox, email: str, organisations: str = "") -> None:
    """Open the invitation from the mailbox, choose a password, make the declarations."""
    page.goto(link_from_mailbox(mailbox, email, "/panel/invitations/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Join the panel for {SEAT}")
    axe_check(page)
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("Type the password again").fill(PASSWORD)
    page.get_by_role("button", name="Set password and join the panel").click()
    page.wait_for_url("**/declarations")
    expect(page.get_by_role("heading", name="Confidentiality and declarations")).to_be_visible()
    fits_the_screen(page)
    axe_check(page)
    page.get_by_label("I agree to the undertaking above").check()
    if organisations:
        page.get_by_label("Organisations you work for").fill(organisations)
    page.get_by_role("button", name="Save my declarations").click()
    page.wait_for_url("**/panel?done=declared")
    expect(page.get_by_role("status")).to_contain_text("declarations are saved")
    axe_check(page)


def test_panel_scores_moderates_and_reads_the_shortlist_pack(page, new_context, live_server):
    tag, round_id, apps = seed_round(live_server, "panel_journey", SEAT)
    ada, ben, cal, dee = apps
    name_of = dict(zip(apps, NAMES, strict=True))
    mailbox = live_server.var_dir / "mailbox"
    member_email, chair_email = f"mia-{tag}@example.org", f"cleo-{tag}@example.org"

    def phone():
        return new_context(viewport=PHONE).new_page()

    # The admin closes the round and moves it to scoring on its page.
    sign_in(page)
    page.wait_for_url("**/admin")
    page.goto(f"/admin/rounds/{round_id}")
    axe_check(page)
    page.get_by_role("link", name="Close now", exact=True).click()
    page.get_by_label("Yes, close this round to applications now").check()
    axe_check(page)
    page.get_by_role("button", name="Close now").click()
    expect(page.get_by_role("status")).to_contain_text("The round is closed.")
    axe_check(page)
    page.get_by_role("button", name="Move to scoring").click()
    expect(page.get_by_role("status")).to_contain_text("The round moved to its next stage.")
    expect(page.get_by_text("Stage: scoring")).to_be_visible()
    axe_check(page)
    # Panel URLs carry the shuffled panel numbers given now, never the application ids.
    number = panel_numbers(live_server, apps)

    # It invites a member and a chair.
    page.get_by_role("link", name="Manage the panel", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Panel for round")
    axe_check(page)
    for name, email, chair in (
        ("Mia Member", member_email, False),
        ("Cleo Chair", chair_email, True),
    ):
        page.get_by_label("Full name").fill(name)
        page.get_by_label("Email address").fill(email)
        if chair:
            page.get_by_label("Make them the chair").check()
        page.get_by_role("button", name="Send invitation", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Invitation sent.")
        expect(page.get_by_role("row", name=re.compile(name))).to_contain_text("Invited")
        axe_check(page)
    expect(page.get_by_text("Cleo Chair chairs this panel.")).to_be_visible()

    # The member joins on a phone: Ada's organisation is declared, so Ada is hidden.
    member = phone()
    join_panel(member, mailbox, member_email, organisations="Clinks")
    member.get_by_role("link", name=f"Score applications for {SEAT}").click()
    member.wait_for_url(f"**/panel/rounds/{round_id}/scoring")
    expect(member.get_by_text("0 of 3 scored")).to_be_visible()
    expect(member.locator(f'a[href$="/applications/{number[ada]}"]')).to_have_count(0)
    fits_the_screen(member)
    axe_check(member)

    # ... and declares a conflict on Dee's application from its page.
    member.locator(f'a[href$="/applications/{number[dee]}"]').click()
    member.wait_for_url(f"**/applications/{number[dee]}")
    expect(member.get_by_text("Answer number 4.").first).to_be_visible()
    axe_check(member)
    member.get_by_role("link", name="I have a conflict with this application").click()
    expect(member.get_by_role("heading", level=1)).to_contain_text("I have a conflict with")
    axe_check(member)
    declare_conflict(member, "Personal", "We sat on a board together.")
    axe_check(member)

    # Two applications are left; scored one after the other with "Save and next".
    member.goto(f"/panel/rounds/{round_id}/scoring")
    expect(member.get_by_text("0 of 2 scored")).to_be_visible()
    expect(member.locator(f'a[href$="/applications/{number[dee]}"]')).to_have_count(0)
    axe_check(member)
    member_marks = {number[ben]: (4, 3), number[cal]: (3, 4)}
    member.get_by_role("table").get_by_role("link").first.click()
    for i in range(len(member_marks)):
        left = "|".join(map(str, member_marks))
        member.wait_for_url(re.compile(rf".*/applications/({left})(\?saved=\d+)?$"))
        current = int(re.search(r"/applications/(\d+)", member.url).group(1))
        expect(member.get_by_text(re.compile(r"Application \d of 2 in your queue"))).to_be_visible()
        if i:  # "Save and next" says the one before is saved
            expect(member.get_by_role("status")).to_contain_text("are saved")
        expect(member.get_by_role("heading", name="Your scores")).to_be_visible()
        assert not any(n in member.content() for n in NAMES)
        axe_check(member)
        score(member, *member_marks[current])
        member.get_by_role("button", name="Save and next").click()
    member.wait_for_url(re.compile(rf".*/panel/rounds/{round_id}/scoring\?saved=\d+$"))
    expect(member.get_by_role("status")).to_contain_text("That was the last one to score.")
    expect(member.get_by_text("2 of 2 scored")).to_be_visible()
    axe_check(member)

    # ... and submits both sheets.
    for n in member_marks:
        member.goto(f"/panel/rounds/{round_id}/scoring")
        member.locator(f'a[href$="/applications/{n}"]').click()
        member.get_by_role("button", name="Submit score sheet").click()
        # It cannot be undone, so it asks first, showing the scores.
        expect(member.get_by_role("heading", level=1)).to_contain_text("Submit your score sheet")
        fits_the_screen(member)
        axe_check(member)
        member.get_by_role("button", name="Submit score sheet").click()
        expect(member.get_by_role("status")).to_contain_text("Your score sheet is submitted")
        axe_check(member)
    member.goto(f"/panel/rounds/{round_id}/scoring")
    expect(member.get_by_text("2 of 2 scored, 2 submitted")).to_be_visible()

    # The chair joins on a phone and scores all four.
    chair = phone()
    join_panel(chair, mailbox, chair_email)
    chair.get_by_role("link", name=f"Score applications for {SEAT}").click()
    expect(chair.get_by_text("0 of 4 scored")).to_be_visible()
    axe_check(chair)

    # The admin's panel page: both ready, and the member's two conflicts, by name.
    page.reload()
    for name in ("Mia Member", "Cleo Chair"):
        expect(page.get_by_role("row", name=re.compile(name)).first).to_contain_text(
            "Ready: declarations made"
        )
    conflicts = page.get_by_role("region", name="Conflicts of interest")
    expect(conflicts.get_by_role("row", name=re.compile(name_of[ada]))).to_contain_text(
        "Mia Member"
    )
    expect(conflicts.get_by_role("row", name=re.compile(name_of[dee]))).to_contain_text(
        "We sat on a board together."
    )
    axe_check(page)
    chair_marks = {ada: (2, 2), ben: (4, 4), cal: (3, 3), dee: (1, 1)}
    for application_id, marks in chair_marks.items():
        chair.goto(f"/panel/rounds/{round_id}/scoring")
        chair.locator(f'a[href$="/applications/{number[application_id]}"]').click()
        chair.wait_for_url(f"**/applications/{number[application_id]}")
        axe_check(chair)
        score(chair, *marks)
        chair.get_by_role("button", name="Submit score sheet").click()
        chair.get_by_role("button", name="Submit score sheet").click()  # confirmed
        expect(chair.get_by_role("status")).to_contain_text("Your score sheet is submitted")
        axe_check(chair)

    # Moderation at phone width: Dee's row counts the member's conflict.
    chair.goto("/panel")
    chair.get_by_role("link", name=f"Moderate the scores for {SEAT}").click()
    table = chair.get_by_role("table", name="4 applications, highest weighted total first")
    expect(table).to_be_visible()
    assert not any(n in chair.content() for n in NAMES)
    fits_the_screen(chair)
    axe_check(chair)
    ben_label = chair.locator(f"#applicant-{number[ben]}").inner_text()
    chair.get_by_role("link", name=f"Record an agreed score for {ben_label}").click()
    expect(chair.get_by_role("heading", level=1)).to_have_text(f"Agreed score for {ben_label}")
    fits_the_screen(chair)
    axe_check(chair)
    record_agreed_score(chair, "Criterion 2", 4, "The panel agreed the evidence is strong.")
    expect(chair.get_by_role("row", name=re.compile(rf"{ben_label}\b"))).to_contain_text("Agreed 4")
    fits_the_screen(chair)
    axe_check(chair)

    # ... proposes the top two.
    chair.get_by_role("link", name="Propose the shortlist", exact=True).click()
    expect(chair.get_by_role("heading", level=1)).to_have_text(f"Shortlist: {SEAT}")
    axe_check(chair)
    chair.get_by_label("The top applications, by number").check()
    chair.get_by_label("How many (for the top applications)").fill("2")
    chair.get_by_role("button", name="Propose the shortlist").click()
    expect(chair.get_by_role("status")).to_contain_text("The shortlist proposal is saved")
    expect(chair.get_by_role("table", name="Proposed shortlist")).to_contain_text(ben_label)
    fits_the_screen(chair)
    axe_check(chair)

    # The admin confirms it: Ben and Cal, by name.
    page.goto(f"/admin/rounds/{round_id}")
    page.get_by_role("link", name="The shortlist", exact=True).click()
    proposal = page.get_by_role("table", name="Proposed shortlist")
    expect(proposal).to_contain_text(name_of[ben])
    expect(proposal).to_contain_text(name_of[cal])
    expect(proposal).not_to_contain_text(name_of[ada])
    axe_check(page)
    page.get_by_role("button", name="Confirm the shortlist").click()
    expect(page.get_by_role("status")).to_contain_text("The shortlist is confirmed")
    axe_check(page)
    page.get_by_role("link", name="Back to the round").click()
    expect(page.get_by_text("Stage: shortlisted")).to_be_visible()
    axe_check(page)

    # The pack mail reaches the panel; the member opens its link and reads the names.
    _, body = mail_containing(mailbox, member_email, "The shortlist pack")
    assert "2 applications were shortlisted" in body
    assert not any(n in body for n in NAMES)
    pack = re.search(r"https?://[^/\s]+(/panel/rounds/\d+/pack)\b", body)
    assert pack and pack.group(1) == f"/panel/rounds/{round_id}/pack", body
    mail_containing(mailbox, chair_email, pack.group(1))
    member.goto(pack.group(1))
    expect(member.get_by_role("heading", level=1)).to_have_text(f"Shortlist pack: {SEAT}")
    contents = member.get_by_role("navigation", name="Applications in this pack")
    expect(contents).to_contain_text(name_of[ben])
    expect(contents).to_contain_text(name_of[cal])
    main = member.get_by_role("main")
    expect(main).not_to_contain_text(name_of[ada])
    expect(main).not_to_contain_text(name_of[dee])
    expect(main).to_contain_text("The panel agreed the evidence is strong.")
    fits_the_screen(member)
    axe_check(member)
