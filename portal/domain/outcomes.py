"""Outcome letters: who was shortlisted, who was not, who was appointed.

Two batches, each chosen by an admin, previewed exactly as it will be sent, then
sent in one transaction:

- after shortlisting: "shortlisted" to the applications on the confirmed shortlist
  and "not_shortlisted" to the other submitted ones (their status becomes
  "unsuccessful");
- the appointment: "appointed" to the one application the admin chooses (which
  records the appointment and moves the round to "decided" through
  `transition_round`) and "not_appointed" to the other shortlisted ones.

Each letter is an Outcome row (unique per application and kind) and an outbox mail
keyed `outcome:{application}:{kind}`, so nothing is ever sent twice. Optional
feedback is the admin's text, which may start from the panel's comments per
criterion: those are offered without saying who wrote them, and scores never are.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, NotFound, ensure_record_id
from portal.domain.outbox import Mail, enqueue_mail
from portal.domain.pack import counted_scores
from portal.domain.panel_access import PANEL_STATUSES
from portal.domain.rounds import RoundStage, get_round, transition_round
from portal.domain.seats import ValidationErrors
from portal.domain.timerules import ensure_aware_utc
from portal.tables import (
    AgreedScore,
    Application,
    Criterion,
    OutboxMessage,
    Outcome,
    Seat,
    Shortlist,
    ShortlistEntry,
)

MAX_FEEDBACK = 5000
NO_SUCH_APPLICATION = "There is no such application in this round."


class OutcomeKind(enum.StrEnum):
    shortlisted = "shortlisted"
    not_shortlisted = "not_shortlisted"
    appointed = "appointed"
    not_appointed = "not_appointed"


LABELS = {
    OutcomeKind.shortlisted: "Shortlisted",
    OutcomeKind.not_shortlisted: "Not shortlisted",
    OutcomeKind.appointed: "Appointed",
    OutcomeKind.not_appointed: "Not appointed",
}


class Batch(enum.StrEnum):
    shortlisting = "shortlisting"
    appointment = "appointment"


# The application status each letter leaves behind, and the statuses it moves from.
STATUS_AFTER: dict[OutcomeKind, tuple[str, tuple[str, ...]]] = {
    OutcomeKind.shortlisted: ("shortlisted", ("submitted",)),
    OutcomeKind.not_shortlisted: ("unsuccessful", ("submitted",)),
    OutcomeKind.appointed: ("appointed", ("submitted", "shortlisted")),
    OutcomeKind.not_appointed: ("unsuccessful", ("submitted", "shortlisted")),
}
# Who can still be appointed: on the shortlist and not already turned down.
APPOINTABLE = ("submitted", "shortlisted")


class AlreadySent(Conflict):
    """Every letter asked for had been sent before: nothing was sent again."""


@dataclass(frozen=True)
class OutcomeNotice:
    """What one outcome letter says, to whom. Scores and who scored are never in it."""

    application_id: int
    round_id: int
    kind: str
    name: str
    email: str
    seat_title: str
    reference: str
    feedback: str = ""


# ---- The form ----------------------------------------------------------------------

_FIELD = re.compile(r"^(send|feedback)_([0-9]{1,9})$")


@dataclass
class LetterForm:
    """The letters form as sent: which batch, which letters, feedback, and the appointee.

    Values are kept as sent (a feedback that is not text is None) so the page can be
    shown again with them; `plan_letters` judges them.
    """

    batch: str = ""
    selected: set[int] = field(default_factory=set)
    feedback: dict[int, str | None] = field(default_factory=dict)
    appoint: str = ""

    def referenced_ids(self) -> set[int]:
        ids = set(self.selected) | set(self.feedback)
        if self.appoint.isdigit() and len(self.appoint) <= 9:
            ids.add(int(self.appoint))
        return ids


def parse_letter_form(form: Mapping[str, list[Any]]) -> LetterForm:
    """Read only the fields the page has: batch, send_<id>, feedback_<id>, appoint."""

    def first(name: str) -> Any:
        values = form.get(name) or [""]
        return values[0]

    batch = first("batch")
    appoint = first("appoint")
    parsed = LetterForm(
        batch=batch if isinstance(batch, str) else "",
        appoint=appoint.strip() if isinstance(appoint, str) else "?",
    )
    for key, values in form.items():
        match = _FIELD.match(key)
        if not match:
            continue
        app_id = int(match.group(2))
        if match.group(1) == "send":
            parsed.selected.add(app_id)
        else:
            value = values[0] if values else ""
            parsed.feedback[app_id] = value if isinstance(value, str) else None
    return parsed


def clean_feedback(value: str | None, app_id: int) -> str:
    if value is None:
        raise DomainError("Feedback must be text.", field=f"feedback_{app_id}")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if "\x00" in text:
        raise DomainError(
            "The feedback contains a character that cannot be sent (a NUL byte); remove it.",
            field=f"feedback_{app_id}",
        )
    if len(text) > MAX_FEEDBACK:
        raise DomainError(
            f"Keep the feedback to {MAX_FEEDBACK:,} characters; it has {len(text):,}.",
            field=f"feedback_{app_id}",
        )
    return text


# ---- Reading the round -------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An application that can get a letter in a batch, and what the panel said about it."""

    id: int
    reference: str
    name: str
    email: str
    status: str
    on_shortlist: bool
    rank: int | None
    total: float | None
    kind: str
    sent_at: datetime | None
    suggestions: list[tuple[str, list[str]]]

    @property
    def label(self) -> str:
        return LABELS[OutcomeKind(self.kind)]

    @property
    def suggested_feedback(self) -> str:
        return suggested_feedback(self.suggestions)


def suggested_feedback(suggestions: Iterable[tuple[str, list[str]]]) -> str:
    """The panel's comments as a starting point: one paragraph per criterion, no names."""
    parts = []
    for title, comments in suggestions:
        if comments:
            parts.append(f"{title}: " + " ".join(c.strip() for c in comments))
    text = ""
    for part in parts:
        candidate = f"{text}\n\n{part}" if text else part
        if len(candidate) > MAX_FEEDBACK:
            break
        text = candidate
    return text


@dataclass(frozen=True)
class RoundOutcomes:
    """Everything the outcomes page and the planner need about one round."""

    round: dict[str, Any]
    seat_title: str
    shortlist: dict[str, Any] | None
    applications: list[dict[str, Any]]  # every application with a panel status, ranked first
    sent: dict[tuple[int, str], dict[str, Any]]
    suggestions: dict[int, list[tuple[str, list[str]]]]

    @property
    def stage(self) -> str:
        return self.round["stage"]

    @property
    def confirmed(self) -> bool:
        return bool(self.shortlist and self.shortlist["confirmed_at"])

    def by_id(self) -> dict[int, dict[str, Any]]:
        return {a["id"]: a for a in self.applications}

    def appointee(self) -> dict[str, Any] | None:
        for app in self.applications:
            if (app["id"], OutcomeKind.appointed.value) in self.sent:
                return app
        for app in self.applications:
            if app["status"] == "appointed":
                return app
        return None

    def shortlisting_refusal(self) -> str:
        if not self.confirmed or self.stage not in ("shortlisted", "decided"):
            return (
                "Letters about the shortlist can be sent once the shortlist is confirmed; "
                f"this round is at the {self.stage} stage."
            )
        return ""

    def appointment_refusal(self) -> str:
        if not self.confirmed or self.stage not in ("shortlisted", "decided"):
            return (
                "The appointment can be recorded once the shortlist is confirmed and before "
                f"the round is archived; this round is at the {self.stage} stage."
            )
        return ""

    def candidates(self, batch: Batch) -> list[Candidate]:
        rows = []
        appointee = self.appointee() if batch is Batch.appointment else None
        for app in self.applications:
            if batch is Batch.shortlisting:
                kind = (
                    OutcomeKind.shortlisted if app["on_shortlist"] else OutcomeKind.not_shortlisted
                )
            elif app["on_shortlist"]:
                kind = OutcomeKind.not_appointed
                if appointee is not None and app["id"] == appointee["id"]:
                    kind = OutcomeKind.appointed
            else:
                continue
            sent = self.sent.get((app["id"], kind.value))
            rows.append(
                Candidate(
                    id=app["id"],
                    reference=app["reference"] or "",
                    name=app["name"],
                    email=app["email"],
                    status=app["status"],
                    on_shortlist=app["on_shortlist"],
                    rank=app["rank"],
                    total=app["total"],
                    kind=kind.value,
                    sent_at=sent["sent_at"] if sent else None,
                    suggestions=self.suggestions.get(app["id"], []),
                )
            )
        return rows


async def _suggestions(seat_id: int, ids: list[int]) -> dict[int, list[tuple[str, list[str]]]]:
    """Per application, per criterion: the panel's comments (submitted sheets) and the
    chair's agreed rationale, as text only. Who wrote them and the scores are left out."""
    if not ids:
        return {}
    criteria = (
        await Criterion.select(Criterion.id, Criterion.title)
        .where(Criterion.seat == seat_id)
        .order_by(Criterion.position)
        .order_by(Criterion.id)
    )
    comments: dict[tuple[int, int], list[str]] = {}
    agreed = await AgreedScore.select(
        AgreedScore.application, AgreedScore.criterion, AgreedScore.rationale
    ).where(AgreedScore.application.is_in(ids))
    for row in agreed:
        if row["rationale"].strip():
            comments.setdefault((row["application"], row["criterion"]), []).append(row["rationale"])
    for row in await counted_scores(ids):
        if row["comment"].strip():
            comments.setdefault((row["application"], row["criterion"]), []).append(row["comment"])
    return {
        app_id: [(c["title"], comments.get((app_id, c["id"]), [])) for c in criteria]
        for app_id in ids
    }


async def load_round_outcomes(round_id: int) -> RoundOutcomes:
    round_row = await get_round(round_id)
    seat = await Seat.select(Seat.title).where(Seat.id == round_row["seat"]).first()
    shortlist = await Shortlist.select().where(Shortlist.round == round_id).first()
    ranked: dict[int, dict[str, Any]] = {}
    if shortlist and shortlist["confirmed_at"]:
        for entry in await ShortlistEntry.select(
            ShortlistEntry.application, ShortlistEntry.rank, ShortlistEntry.total
        ).where(ShortlistEntry.shortlist == shortlist["id"]):
            ranked[entry["application"]] = entry
    rows = await Application.select(
        Application.id,
        Application.reference,
        Application.status,
        Application.applicant.name.as_alias("name"),
        Application.applicant.email.as_alias("email"),
    ).where((Application.round == round_id) & Application.status.is_in(list(PANEL_STATUSES)))
    applications = []
    for row in rows:
        listed = ranked.get(row["id"])
        applications.append(
            {
                **row,
                "on_shortlist": listed is not None,
                "rank": listed["rank"] if listed else None,
                "total": listed["total"] if listed else None,
            }
        )
    applications.sort(
        key=lambda a: (not a["on_shortlist"], a["rank"] or 0, a["reference"] or "", a["id"])
    )
    ids = [a["id"] for a in applications]
    sent = {}
    if ids:
        for outcome in await Outcome.select().where(Outcome.application.is_in(ids)):
            sent[(outcome["application"], outcome["kind"])] = outcome
    return RoundOutcomes(
        round=round_row,
        seat_title=seat["title"] if seat else "",
        shortlist=shortlist,
        applications=applications,
        sent=sent,
        suggestions=await _suggestions(round_row["seat"], ids),
    )


async def sent_history(round_id: int) -> list[dict[str, Any]]:
    """Letters sent in this round, newest first, for the admin page."""
    ensure_record_id(round_id, "There is no such round.")
    rows = (
        await Outcome.select(
            Outcome.id,
            Outcome.kind,
            Outcome.sent_at,
            Outcome.feedback,
            Outcome.application.reference.as_alias("reference"),
            Outcome.application.applicant.name.as_alias("name"),
            Outcome.sent_by.email.as_alias("sent_by"),
            Outcome.outbox.status.as_alias("mail_status"),
        )
        .where(Outcome.application.round == round_id)
        .order_by(Outcome.sent_at, ascending=False)
        .order_by(Outcome.id, ascending=False)
    )
    for row in rows:
        row["label"] = LABELS.get(OutcomeKind(row["kind"]), row["kind"])
    return rows


# ---- Planning (the preview) and sending --------------------------------------------


@dataclass(frozen=True)
class PlannedLetter:
    notice: OutcomeNotice
    already_sent: bool

    @property
    def label(self) -> str:
        return LABELS[OutcomeKind(self.notice.kind)]


@dataclass(frozen=True)
class LetterPlan:
    round_id: int
    batch: Batch
    letters: list[PlannedLetter]
    appoint: int | None  # an appointment this send records
    feedback: dict[int, str]

    @property
    def new(self) -> list[PlannedLetter]:
        return [letter for letter in self.letters if not letter.already_sent]

    @property
    def repeated(self) -> list[PlannedLetter]:
        return [letter for letter in self.letters if letter.already_sent]


def _batch(value: str) -> Batch:
    try:
        return Batch(value)
    except ValueError:
        raise DomainError("Choose which letters to send from the page.", field="letters") from None


async def plan_letters(round_id: int, form: LetterForm) -> LetterPlan:
    """Judge the form against the round as it is now: the letters it would send.

    Another round's (or no) application is NotFound; the wrong stage is Conflict;
    anything else wrong is a DomainError on its field.
    """
    batch = _batch(form.batch)
    state = await load_round_outcomes(round_id)
    apps = state.by_id()
    if any(app_id not in apps for app_id in form.referenced_ids()):
        raise NotFound(NO_SUCH_APPLICATION)
    refusal = (
        state.shortlisting_refusal() if batch is Batch.shortlisting else state.appointment_refusal()
    )
    if refusal:
        raise Conflict(refusal, field="letters")
    errors: dict[str, str] = {}
    feedback: dict[int, str] = {}
    for app_id, value in form.feedback.items():
        try:
            feedback[app_id] = clean_feedback(value, app_id)
        except DomainError as exc:
            errors[exc.field or "letters"] = exc.message
    candidates = {c.id: c for c in state.candidates(batch)}
    appoint: int | None = None
    kinds: dict[int, OutcomeKind] = {}
    if batch is Batch.appointment:
        current = state.appointee()
        if current is not None or state.stage != RoundStage.shortlisted.value:
            if form.appoint and current is not None:
                raise AlreadySent(
                    f"The appointment is already recorded ({current['reference']} was "
                    "appointed); nothing was sent again.",
                    field="letters",
                )
            if form.appoint:
                raise Conflict(
                    "An appointment can be recorded only while the round is shortlisted; "
                    f"this round is at the {state.stage} stage.",
                    field="letters",
                )
        elif not form.appoint:
            errors["appoint"] = "Choose the applicant who is appointed."
        elif not form.appoint.isdigit() or int(form.appoint) not in candidates:
            errors["appoint"] = "Choose the appointed applicant from the shortlist."
        elif apps[int(form.appoint)]["status"] not in APPOINTABLE:
            errors["appoint"] = "That applicant was already told they were not appointed."
        else:
            appoint = int(form.appoint)
            kinds[appoint] = OutcomeKind.appointed
    for app_id in sorted(form.selected):
        candidate = candidates.get(app_id)
        if candidate is None:
            errors[f"send_{app_id}"] = "This applicant cannot get a letter in this batch."
        elif app_id != appoint:
            kinds[app_id] = OutcomeKind(candidate.kind)
    if not kinds and not errors:
        errors["letters"] = "Choose at least one letter to send."
    if errors:
        raise ValidationErrors(errors=errors)
    order = {c.id: n for n, c in enumerate(state.candidates(batch))}
    letters = []
    for app_id in sorted(kinds, key=lambda i: order.get(i, 0)):
        app = apps[app_id]
        kind = kinds[app_id]
        letters.append(
            PlannedLetter(
                notice=OutcomeNotice(
                    application_id=app_id,
                    round_id=round_id,
                    kind=kind.value,
                    name=app["name"],
                    email=app["email"],
                    seat_title=state.seat_title,
                    reference=app["reference"] or "",
                    feedback=feedback.get(app_id, ""),
                ),
                already_sent=(app_id, kind.value) in state.sent,
            )
        )
    return LetterPlan(
        round_id=round_id, batch=batch, letters=letters, appoint=appoint, feedback=feedback
    )


@dataclass(frozen=True)
class SendResult:
    outbox_ids: list[int]
    sent: int
    skipped: int
    decided: bool


async def send_letters(
    round_id: int,
    form: LetterForm,
    compose: Callable[[OutcomeNotice], Mail],
    actor: Actor,
    now: datetime,
) -> SendResult:
    """Write the Outcome rows, the outbox mails and the status changes, in the caller's
    write transaction; an appointment also moves the round to decided. Letters sent
    before are skipped; if every one was, AlreadySent says so and nothing is written."""
    now = ensure_aware_utc(now)
    plan = await plan_letters(round_id, form)
    if not plan.new:
        raise AlreadySent(
            "Every letter you chose had already been sent, so nothing was sent again.",
            field="letters",
        )
    outbox_ids: list[int] = []
    if plan.appoint is not None:
        appointed = next(x.notice for x in plan.letters if x.notice.kind == "appointed")
        outbox_ids += await transition_round(
            round_id,
            RoundStage.decided,
            actor,
            now,
            reason=f"Appointed {appointed.reference}",
        )
        await record_event(
            actor,
            "outcome.appointed",
            "application",
            appointed.application_id,
            now,
            round_id=round_id,
            detail={"reference": appointed.reference},
        )
    for letter in plan.new:
        notice = letter.notice
        kind = OutcomeKind(notice.kind)
        mail = compose(notice)
        message_id = await enqueue_mail(mail, now)
        if message_id is None:  # the mail exists already (written by an earlier attempt)
            existing = (
                await OutboxMessage.select(OutboxMessage.id)
                .where(OutboxMessage.dedupe_key == mail.dedupe_key)
                .first()
            )
            outbox_row = existing["id"] if existing else None
        else:
            outbox_ids.append(message_id)
            outbox_row = message_id
        await Outcome.insert(
            Outcome(
                application=notice.application_id,
                kind=kind.value,
                feedback=notice.feedback,
                outbox=outbox_row,
                sent_by=actor.user_id,
                sent_at=now,
            )
        )
        status, from_statuses = STATUS_AFTER[kind]
        await Application.update({Application.status: status, Application.updated_at: now}).where(
            (Application.id == notice.application_id)
            & Application.status.is_in(list(from_statuses))
        )
        await record_event(
            actor,
            "outcome.sent",
            "application",
            notice.application_id,
            now,
            round_id=round_id,
            detail={
                "kind": kind.value,
                "reference": notice.reference,
                "feedback_chars": len(notice.feedback),
            },
        )
    return SendResult(
        outbox_ids=outbox_ids,
        sent=len(plan.new),
        skipped=len(plan.repeated),
        decided=plan.appoint is not None,
    )


# ---- The applicant's own view ------------------------------------------------------


async def applicant_outcomes(application_id: int, applicant_id: int) -> list[dict[str, Any]]:
    """The letters sent to this applicant about this application, oldest first, with the
    feedback sent to them: never scores or the panel's comments."""
    ensure_record_id(application_id, NO_SUCH_APPLICATION)
    rows = (
        await Outcome.select(Outcome.kind, Outcome.feedback, Outcome.sent_at)
        .where(
            (Outcome.application == application_id)
            & (Outcome.application.applicant == applicant_id)
        )
        .order_by(Outcome.sent_at)
        .order_by(Outcome.id)
    )
    for row in rows:
        row["label"] = LABELS.get(OutcomeKind(row["kind"]), row["kind"])
    return rows
