"""What the outcomes pages read: the round's applications with the shortlist and the
letters already sent, the panel's comments offered as feedback, the history of
letters sent, and an applicant's own letters.

Feedback suggestions are the panel's comments per criterion, without saying who
wrote them; scores are never offered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Count

from portal.domain.errors import ensure_record_id
from portal.domain.outbox.messages import OutboxState
from portal.domain.outcomes.kinds import (
    LABELS,
    MAX_FEEDBACK,
    NO_SUCH_APPLICATION,
    Batch,
    OutcomeKind,
)
from portal.domain.outcomes.pack import counted_scores
from portal.domain.panels.access import PANEL_STATUSES
from portal.domain.rounds.phase import get_round
from portal.domain.scoring.coverage import round_coverage
from portal.domain.scoring.tally import round_scores
from portal.domain.statuses import ApplicationStatus
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
    # Scoring: sheets that count and the chair's "not scored" decision, if any.
    scored: bool = True
    fully_scored: bool = True
    not_scored_reason: str = ""

    @property
    def can_send(self) -> bool:
        """An application nobody scored, with no chair decision, is never turned down."""
        return self.kind in (OutcomeKind.shortlisted, OutcomeKind.appointed) or (
            self.scored or bool(self.not_scored_reason)
        )

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
            if app["status"] == ApplicationStatus.appointed.value:
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
                    scored=app["scored"],
                    fully_scored=app["fully_scored"],
                    not_scored_reason=app["not_scored_reason"],
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
    coverage = await round_coverage(await round_scores(round_id))
    applications = []
    for row in rows:
        listed = ranked.get(row["id"])
        covered = coverage.of(row["id"])
        decision = covered.decision if covered else None
        applications.append(
            {
                **row,
                "on_shortlist": listed is not None,
                "rank": listed["rank"] if listed else None,
                "total": listed["total"] if listed else None,
                "scored": covered is None or not covered.unscored,
                "fully_scored": covered is None or not covered.short,
                "not_scored_reason": decision["reason"] if decision else "",
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


@dataclass(frozen=True)
class LetterDelivery:
    """Where the round's outcome letters are: queued letters go out through the outbox."""

    sent: int = 0
    waiting: int = 0  # pending or being sent
    failed: int = 0  # failed or held: an admin decides on the outbox page

    @property
    def total(self) -> int:
        return self.sent + self.waiting + self.failed


async def letter_delivery(round_id: int) -> LetterDelivery:
    ensure_record_id(round_id, "There is no such round.")
    rows = (
        await OutboxMessage.select(OutboxMessage.status, Count(OutboxMessage.id).as_alias("n"))
        .where((OutboxMessage.round == round_id) & OutboxMessage.kind.like("outcome_%"))
        .group_by(OutboxMessage.status)
    )
    counts = {r["status"]: int(r["n"]) for r in rows}
    return LetterDelivery(
        sent=counts.get(OutboxState.sent.value, 0),
        waiting=counts.get(OutboxState.pending.value, 0) + counts.get(OutboxState.sending.value, 0),
        failed=counts.get(OutboxState.failed.value, 0) + counts.get(OutboxState.held.value, 0),
    )
