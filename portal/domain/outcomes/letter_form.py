"""The letters form: reading only its fields, then judging it against the round as
it is now, which gives the plan the preview shows and the send carries out.

Values are kept as sent so the page can show them again; `plan_letters` raises
NotFound for another round's application, Conflict for the wrong stage, and
ValidationErrors on each field for anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portal.domain.errors import Conflict, DomainError, NotFound, ValidationErrors
from portal.domain.outcomes.kinds import (
    APPOINTABLE,
    LABELS,
    MAX_FEEDBACK,
    NO_SUCH_APPLICATION,
    AlreadySent,
    Batch,
    OutcomeKind,
    OutcomeNotice,
)
from portal.domain.outcomes.queries import load_round_outcomes
from portal.domain.rounds.phase import RoundStage

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
        elif not candidate.can_send:
            errors[f"send_{app_id}"] = (
                "Nobody on the panel has scored this application, and the chair has not "
                "recorded a decision to go ahead without scores: it cannot be turned down."
            )
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
                    fully_scored=app["fully_scored"],
                ),
                already_sent=(app_id, kind.value) in state.sent,
            )
        )
    return LetterPlan(
        round_id=round_id, batch=batch, letters=letters, appoint=appoint, feedback=feedback
    )
