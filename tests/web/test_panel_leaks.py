"""Nothing that identifies an applicant reaches an anonymised panel.

One round is built the way it happens for real (admin invitations, accepted links,
declarations, a conflict, the move to scoring, saved and submitted sheets, a scoring
reminder), then each member and the chair crawl every page under /panel they can
reach. Every byte they could see (HTML, headers, redirects, downloads, their mail) is
searched for the applicants' names, emails, organisations, job titles, phones,
adjustments and references. After the shortlist is confirmed the pack may show names,
but emails, phones and adjustments never reach a panel at any stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

from portal import db
from portal.domain.audit import Actor
from portal.domain.reminders.planner import plan_due_reminders
from portal.domain.rounds.phase import RoundStage
from portal.domain.rounds.stages import transition_round
from portal.mail.compose.reminders import compose_reminder
from portal.tables import Application, OutboxMessage
from tests.conftest import form_token, post_form
from tests.factories import (
    RoundSetup,
    add_application,
    add_document,
    make_round,
    now,
    panel_number,
    run,
)

CV = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
MAX_PAGES = 150


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    organisation: str
    job_title: str
    phone: str
    adjustments: str
    reference: str
    filename: str

    def secrets(self) -> dict[str, str]:
        """Everything that identifies the applicant, by what it is."""
        first, surname = self.name.split(" ", 1)
        return {
            "name": self.name,
            "first name": first,
            "surname": surname,
            "email": self.email,
            "email domain": self.email.split("@")[1],
            "email local part": self.email.split("@")[0] + "@",
            "organisation": self.organisation,
            "job title": self.job_title,
            "phone": self.phone,
            "phone digits": re.sub(r"\D", "", self.phone),
            "adjustments": self.adjustments,
            "reference": self.reference,
            "document filename": self.filename,
        }


APPLICANTS = (
    Person(
        "Zenobia Quartermaine",
        "zq@leak.example",
        "Quartermaine Trust",
        "Chief Lighthouse Keeper",
        "+44 7700 900461",
        "Requires a sign-language interpreter called Oswin",
        "SP-ZQ-4417",
        "zenobia-quartermaine-cv.pdf",
    ),
    Person(
        "Barnaby Fitzwilliam-Okoro",
        "bfo@leak.example",
        "Fitzwilliam Foundry Cooperative",
        "Senior Bellfounder",
        "07700 900872",
        "Needs the hearing loop switched on in the pavilion",
        "SP-BF-9921",
        "barnaby-fitzwilliam-okoro-cv.pdf",
    ),
    Person(
        "Ottoline Vasquez-Thorne",
        "ovt@leak.example",
        "Thornbury Riverside Alliance",
        "Principal Cartographer",
        "07700 900333",
        "Interviews before noon because of dialysis",
        "SP-OV-5532",
        "ottoline-vasquez-thorne-cv.pdf",
    ),
    Person(
        "Isolde Marchbanks",
        "im@leak.example",
        "Marchbanks Almshouse Guild",
        "Warden of Almshouses",
        "07700 900444",
        "Wheelchair user: step-free venue please",
        "SP-IM-7788",
        "isolde-marchbanks-cv.pdf",
    ),
)
# Never on a panel page or in a panel mail, before or after the shortlist.
NEVER = ("email", "email domain", "email local part", "phone", "phone digits", "adjustments")

CHAIR = ("Chidi Chairperson", "chidi@panel.example")
MEMBER_A = ("Pat Panellist", "pat@panel.example")  # declares a conflict on applicant 3
MEMBER_B = ("Sam Scorer", "sam@panel.example")  # declares applicant 2's organisation
PANEL_PASSWORD = "a long panel password for tests"


@dataclass
class Crawl:
    """What one panel member could see: page by page, plus their mail."""

    who: str
    pages: dict[str, str] = field(default_factory=dict)  # url -> status, headers, body
    mail: list[str] = field(default_factory=list)

    def corpus(self) -> str:
        return "\n".join([*self.pages.values(), *self.mail]).casefold()


@dataclass
class Built:
    setup: RoundSetup
    apps: list[int]  # same order as APPLICANTS
    clients: dict[str, object]  # "chair", "a", "b" -> signed-in client
    emails: dict[str, str]


# ---- Building the round -----------------------------------------------------------------


async def _applicants(setup: RoundSetup) -> list[int]:
    # Ten applications to another seat first, so this round's application ids (11 to 14)
    # differ from the panel numbers (1 to 4): a URL carrying an id would show here.
    other = await make_round(slug="earlier-seat")
    for i in range(10):
        await add_application(other, email=f"earlier{i}@leak.example", name=f"Earlier {i}")
    apps = []
    for i, p in enumerate(APPLICANTS):
        app_id = await add_application(
            setup,
            email=p.email,
            name=p.name,
            organisation=p.organisation,
            job_title=p.job_title,
            phone=p.phone,
            adjustments=p.adjustments,
            reference=p.reference,
            text=f"My answer about community work number {i + 1}.",
        )
        await add_document(app_id, filename=p.filename, data=CV)
        apps.append(app_id)
    return apps


def _invitation_link(email: str) -> str:
    rows = run(
        OutboxMessage.select(OutboxMessage.body_text)
        .where((OutboxMessage.kind == "panel_invitation") & (OutboxMessage.recipient == email))
        .order_by(OutboxMessage.id, ascending=False)
    )
    match = re.search(
        r"http://testserver\.local(/panel/invitations/[A-Za-z0-9_\-]+)", rows[0]["body_text"]
    )
    assert match, rows[0]["body_text"]
    return match.group(1)


def _join(
    make_client,
    admin_client,
    round_id: int,
    name: str,
    email: str,
    *,
    chair=False,
    organisations="",
):
    """Invited on the admin page, accepted through the mailed link, declarations made."""
    data = {"name": name, "email": email, **({"chair": "1"} if chair else {})}
    invited = post_form(
        admin_client,
        f"/admin/rounds/{round_id}/panel/invite",
        data,
        token_from=f"/admin/rounds/{round_id}/panel",
        follow_redirects=False,
    )
    assert invited.status_code == 303, invited.text
    client = make_client()
    link = _invitation_link(email)
    accepted = post_form(
        client,
        link,
        {"password": PANEL_PASSWORD, "confirm": PANEL_PASSWORD},
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    declared = post_form(
        client,
        f"/panel/rounds/{round_id}/declarations",
        {"confidentiality": "1", "organisations": organisations},
        follow_redirects=False,
    )
    assert declared.status_code == 303, declared.text
    return client


def _score(
    client, round_id: int, app_id: int, criteria: list[int], values, comment: str, action: str
):
    data = {"action": action}
    for c, v in zip(criteria, values, strict=True):
        data[f"score_{c}"] = str(v)
        data[f"comment_{c}"] = f"{comment} (criterion {c})"
    path = f"/panel/rounds/{round_id}/applications/{run(panel_number(app_id))}"
    response = post_form(client, path, data, follow_redirects=False)
    assert response.status_code == 303, (path, response.status_code, response.text[:2000])
    if action == "submit":  # "Submit score sheet" asks to confirm first
        confirmed = post_form(client, f"{path}/submit", {}, follow_redirects=False)
        assert confirmed.status_code == 303, (path, confirmed.status_code)


def build(make_client, admin_client, admin_id: int, settings) -> Built:
    t = now()
    setup = run(make_round(stage="collecting", scoring_deadline=t + timedelta(hours=20)))
    apps = run(_applicants(setup))
    rid = setup.round_id
    chair = _join(make_client, admin_client, rid, *CHAIR, chair=True)
    a = _join(make_client, admin_client, rid, *MEMBER_A)
    # Declared with other spacing and case: still the same organisation.
    b = _join(
        make_client,
        admin_client,
        rid,
        *MEMBER_B,
        organisations="  fitzwilliam   FOUNDRY cooperative ",
    )

    async def to_scoring():
        async with db.write_transaction():
            await transition_round(
                rid, RoundStage.scoring, Actor(admin_id, "ada@example.org"), now()
            )

    run(to_scoring())
    # Member A declares a conflict on applicant 3 from the application's own page.
    conflict = post_form(
        a,
        f"/panel/rounds/{rid}/applications/{run(panel_number(apps[2]))}/conflict",
        {"kind": "personal", "note": "We sat on a board together years ago."},
        follow_redirects=False,
    )
    assert conflict.status_code == 303, conflict.text
    crit = setup.criteria
    # The chair scores and submits everything; members some of it, with comments.
    for i, app_id in enumerate(apps):
        action = "submit" if i < 3 else "save"  # the last stays open for the bad form below
        _score(
            chair, rid, app_id, crit, (4 - i, 3), f"Chair thinks applicant {i + 1} is solid", action
        )
    _score(a, rid, apps[0], crit, (4, 4), "Member A: impressive evidence", "submit")
    _score(a, rid, apps[1], crit, (2, 2), "Member A: draft thoughts", "save")
    _score(b, rid, apps[0], crit, (3, 4), "Member B: strong", "submit")
    _score(b, rid, apps[2], crit, (3, 2), "Member B: good", "next")

    async def remind():
        async with db.write_transaction():
            return await plan_due_reminders(now(), compose_reminder(settings))

    assert run(remind()), "a scoring_due reminder should have been planned"
    emails = {"chair": CHAIR[1], "a": MEMBER_A[1], "b": MEMBER_B[1]}
    return Built(setup, apps, {"chair": chair, "a": a, "b": b}, emails)


# ---- Crawling ----------------------------------------------------------------------------

HREF = re.compile(r'(?:href|action|src)="([^"]+)"')


def _record(crawl: Crawl, url: str, response) -> None:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    body = response.text if "text" in response.headers.get("content-type", "") else ""
    crawl.pages[url] = f"{url}\n{response.status_code}\n{headers}\n{body}"


def crawl(client, who: str, start: str = "/panel") -> Crawl:
    """GET every same-site page under /panel reachable by links and redirects from `start`."""
    result = Crawl(who)
    queue = [start]
    while queue and len(result.pages) < MAX_PAGES:
        url = queue.pop(0)
        if url in result.pages:
            continue
        response = client.get(url, follow_redirects=False)
        _record(result, url, response)
        found = []
        if location := response.headers.get("location"):
            found.append(location)
        if "text/html" in response.headers.get("content-type", ""):
            found += HREF.findall(response.text)
        for link in found:
            link = link.replace("&amp;", "&")
            parts = urlsplit(urljoin(f"http://testserver.local{url}", link))
            if parts.netloc != "testserver.local" or not parts.path.startswith("/panel"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in result.pages and target not in queue:
                queue.append(target)
    return result


def panel_mail(email: str) -> list[str]:
    rows = run(OutboxMessage.select().where(OutboxMessage.recipient == email))
    return [
        "\n".join([r["kind"], r["subject"], r["body_text"], r["body_html"], repr(r["headers"])])
        for r in rows
    ]


def leaks(
    crawl: Crawl, kinds: tuple[str, ...] | None = None, *, own: tuple[str, ...] = ()
) -> list[str]:
    """Each secret found, and where. `own`: what this member typed on their own
    declarations page (an organisation they know of), allowed there and only there."""
    texts = {u: page.casefold() for u, page in crawl.pages.items()}
    texts |= {f"mail {i}": mail.casefold() for i, mail in enumerate(crawl.mail)}
    found = []
    for p in APPLICANTS:
        for kind, value in p.secrets().items():
            if kinds is not None and kind not in kinds:
                continue
            needle = value.casefold()
            where = [
                u
                for u, text in texts.items()
                if needle in text and not (needle in own and u.endswith("/declarations"))
            ]
            if where:
                found.append(f"{crawl.who}: {kind} {value!r} in {where}")
    return found


def extra_pages(built: Built, who: str, result: Crawl) -> None:
    """Error pages and refusals: another application, a bad score form, a submitted
    sheet sent again, a document before the shortlist, the admin's audit log and CSV."""
    client = built.clients[who]
    rid = built.setup.round_id
    apps = [run(panel_number(a)) for a in built.apps]  # panel URLs carry numbers
    hidden = {"a": apps[2], "b": apps[1]}.get(who)
    base = f"/panel/rounds/{rid}/applications"
    gets = [
        (f"/panel/rounds/{rid}", 303),  # the address mails link to
        (f"/panel/rounds/{rid + 1000}", 404),
        (f"{base}/999999", 404),
        (f"/panel/rounds/{rid}/pack/applications/{apps[0]}/documents/cv", 404),
        ("/admin/audit", 403),
        (f"/admin/rounds/{rid}/scores.csv", 403),
        (f"/admin/rounds/{rid}/shortlist", 403),
    ]
    if hidden:
        gets += [(f"{base}/{hidden}", 404), (f"{base}/{hidden}/conflict", 404)]
    for url, status in gets:
        response = client.get(url, follow_redirects=False)
        assert response.status_code == status, (who, url, response.status_code)
        _record(result, f"GET {url}", response)
    # A score out of the scale: the page again, with an error, not saved.
    target = apps[3]
    bad = post_form(
        client,
        f"{base}/{target}",
        {"action": "save", f"score_{built.setup.criteria[0]}": "9", "comment_x": "x"},
        follow_redirects=False,
    )
    assert bad.status_code == 400, (who, bad.status_code)
    _record(result, f"POST {base}/{target} (bad score)", bad)
    # Refused forms come back with the page and its error: searched too. None is saved.
    forms = [(f"/panel/rounds/{rid}/declarations", {"organisations": "x"})]
    if who == "chair":
        ruling = next(u for u in result.pages if re.search(r"/conflicts/\d+/\d+$", u))
        c = str(built.setup.criteria[0])
        forms += [
            (ruling, {"reason": ""}),
            (f"/panel/rounds/{rid}/moderation/{apps[0]}", {"criterion": c, "value": "99"}),
            (f"/panel/rounds/{rid}/shortlist", {"method": "top_n", "top_n": "0"}),
        ]
    for url, data in forms:
        refused = post_form(client, url, data, follow_redirects=False)
        # 409 for the shortlist while applications are short of score sheets.
        assert refused.status_code in (400, 409), (who, url, refused.status_code)
        _record(result, f"POST {url} (refused)", refused)
    # The first application's sheet is submitted (by everyone): sending it again is refused.
    again = post_form(
        client,
        f"{base}/{apps[0]}",
        {"action": "save", f"score_{built.setup.criteria[0]}": "1"},
        token_from=f"{base}/{target}",  # a submitted sheet's page has no form
        follow_redirects=False,
    )
    assert again.status_code == 409, (who, again.status_code)
    _record(result, f"POST {base}/{apps[0]} (submitted)", again)


# ---- The test ----------------------------------------------------------------------------


def test_anonymised_panel_never_sees_who_applied_until_the_shortlist(
    settings, make_client, admin_client, admin_id
):
    built = build(make_client, admin_client, admin_id, settings)
    rid = built.setup.round_id
    own_declaration = {"b": (APPLICANTS[1].organisation.casefold(),)}
    problems: list[str] = []
    for who in ("chair", "a", "b"):
        result = crawl(built.clients[who], who)
        extra_pages(built, who, result)
        result.mail = panel_mail(built.emails[who])
        kinds = {m.split("\n", 1)[0] for m in result.mail}
        assert {"panel_invitation", "reminder_scoring_due"} <= kinds, (who, kinds)
        # The crawl really reached the applications: the queue, each page, the forms.
        assert len(result.pages) >= 12, (who, sorted(result.pages))
        visited = [
            u for u in result.pages if re.fullmatch(rf"/panel/rounds/{rid}/applications/\d+", u)
        ]
        assert len(visited) >= (4 if who == "chair" else 3), (who, visited)
        corpus = result.corpus()
        labels = set(re.findall(r"applicant ([1-4])\b", corpus))
        assert len(labels) >= (4 if who == "chair" else 3), (who, labels)
        problems += leaks(result, own=own_declaration.get(who, ()))
    assert problems == [], "\n".join(problems)

    # Two applications are short of score sheets (members did not finish): the chair
    # cannot propose until each has its sheets or a recorded decision to go ahead.
    chair = built.clients["chair"]
    refused = post_form(chair, f"/panel/rounds/{rid}/shortlist", {"method": "top_n", "top_n": "2"})
    assert refused.status_code == 409 and "You cannot propose a shortlist yet" in refused.text
    for number in re.findall(r'/shortlist/not-scored/(\d+)"', refused.text):
        decided = post_form(
            chair,
            f"/panel/rounds/{rid}/shortlist/not-scored/{number}",
            {"reason": "A member was taken ill; the chair and one member scored it."},
            token_from=f"/panel/rounds/{rid}/shortlist",
            follow_redirects=False,
        )
        assert decided.status_code == 303, decided.text
    # The chair proposes, an admin confirms: the pack now names the shortlisted two.
    proposed = post_form(
        built.clients["chair"],
        f"/panel/rounds/{rid}/shortlist",
        {"method": "top_n", "top_n": "2", "note": "The top two."},
        follow_redirects=False,
    )
    assert proposed.status_code == 303, proposed.text
    page = admin_client.get(f"/admin/rounds/{rid}/shortlist")
    proposed_at = re.search(r'name="proposed_at" value="([^"]+)"', page.text)
    confirmed = admin_client.post(
        f"/admin/rounds/{rid}/shortlist/confirm",
        data={
            "_csrf_token": form_token(admin_client, f"/admin/rounds/{rid}/shortlist"),
            **({"proposed_at": proposed_at.group(1)} if proposed_at else {}),
        },
        follow_redirects=False,
    )
    assert confirmed.status_code == 303, confirmed.text
    shortlisted = {
        r["id"]
        for r in run(
            Application.select(Application.id).where(
                (Application.round == rid) & (Application.status == "shortlisted")
            )
        )
    }
    assert len(shortlisted) == 2
    assert "A member was taken ill" in page.text  # the admin saw the chair's decisions
    # The search itself works: the admin's page (which may name them) is caught.
    admin_view = Crawl("admin", {"admin": admin_client.get(f"/admin/rounds/{rid}/shortlist").text})
    assert leaks(admin_view, ("name", "email"))
    for who in ("chair", "a", "b"):
        result = crawl(built.clients[who], who)
        pack_pages = [u for u in result.pages if "/pack" in u]
        assert pack_pages, (who, sorted(result.pages))
        # Documents of the pack are downloads a member can reach: searched too.
        assert any("/documents/" in u for u in pack_pages), (who, pack_pages)
        result.mail = panel_mail(built.emails[who])
        assert any(m.startswith("shortlist_pack") for m in result.mail), who
        corpus = result.corpus()
        for p, app_id in zip(APPLICANTS, built.apps, strict=True):
            hidden = (who, app_id) in (("a", built.apps[2]), ("b", built.apps[1]))
            if app_id in shortlisted and not hidden:
                assert p.name.casefold() in corpus, (who, p.name)
            elif app_id not in shortlisted:
                # Never shortlisted: "Applicant N" to the panel for ever, name and all.
                shown = Crawl(who, result.pages, result.mail)
                problems += [
                    f"{leak} (not shortlisted)"
                    for leak in leaks(shown, tuple(p.secrets()))
                    if p.name in leak or p.reference in leak or p.organisation in leak
                ]
        problems += leaks(result, NEVER)
        problems += id_urls(result, built.apps)
    assert problems == [], "\n".join(problems)


def id_urls(result: Crawl, app_ids: list[int]) -> list[str]:
    """Panel URLs that carry an application's id (which shows the order people applied)."""
    carried = re.compile(r"/(?:applications|moderation|conflicts/\d+)/(\d+)(?:[/?#]|$)")
    wrong = []
    for url, page in result.pages.items():
        for link in [url, *HREF.findall(page)]:
            if link.startswith(("/panel", "GET /panel", "POST /panel", "http")):
                for number in carried.findall(link):
                    if int(number) in app_ids:
                        wrong.append(f"{result.who}: {link} carries an application id")
    return wrong
