"""The shortlist: the chair proposes it (top N or a threshold), an admin confirms it.

A proposal is one Shortlist row per round (re-proposing replaces it and its entries
until it is confirmed). Confirming is one write transaction: stamp the confirmation,
mark the shortlisted applications, move the round to "shortlisted" (through
`transition_round`, the only stage changer) and queue the pack mails to the panel.
Applications not on the list stay "submitted"; the outcomes step decides them later.

Neither is possible while an application that reaches the panel is short of its
score sheets (`portal.domain.scoring.coverage`), unless the chair has recorded an
audited decision to go ahead without them: nobody is shortlisted out unread.

A proposal whose ranks no longer match the current scores (a sheet submitted or an
agreed score recorded since) is shown as out of date, and confirming it is refused:
the chair proposes again, so an admin never confirms a list nobody looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from portal.domain.applications.status import ApplicationStatus, transition_application
from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError
from portal.domain.outbox.messages import Mail
from portal.domain.rounds.phase import RoundStage, get_round
from portal.domain.rounds.stages import transition_round
from portal.domain.scoring import arithmetic as sm
from portal.domain.scoring.coverage import ensure_fully_scored, round_coverage
from portal.domain.scoring.moderation import SCORING_STAGE, chair_of
from portal.domain.scoring.tally import RoundScores, round_scores
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Application, Shortlist, ShortlistEntry

MAX_NOTE = 2000


@dataclass
class ShortlistInput:
    """The chair's proposal form as sent."""

    method: str = ""
    top_n: str = ""
    threshold: str = ""
    note: str = ""


def build_proposal(scores: RoundScores, data: ShortlistInput) -> sm.Proposal:
    method = (data.method or "").strip()
    if method == sm.ShortlistMethod.top_n.value:
        return sm.propose_top_n(scores.ranked, sm.parse_top_n(data.top_n))
    if method == sm.ShortlistMethod.threshold.value:
        return sm.propose_threshold(
            scores.ranked, sm.parse_threshold(data.threshold, scores.max_total)
        )
    raise DomainError("Choose how to shortlist: the top number, or a lowest total.", field="method")


def _stored_threshold(value: float | None) -> Fraction | None:
    # A REAL column may hold 14.3 as 14.300000190...; the form allows two decimals.
    return None if value is None else Fraction(Decimal(f"{value:.2f}"))


def _recompute(scores: RoundScores, row: dict[str, Any]) -> sm.Proposal:
    if row["method"] == sm.ShortlistMethod.threshold.value:
        return sm.propose_threshold(
            scores.ranked, _stored_threshold(row["threshold"]) or Fraction(0)
        )
    return sm.propose_top_n(scores.ranked, row["top_n"] or 1)


@dataclass(frozen=True)
class ShortlistEntryView:
    application_id: int
    rank: int
    tied: bool
    total: float
    label: str  # "Applicant 7", or the name where identities are visible
    name: str
    email: str
    organisation: str
    reference: str

    @property
    def rank_label(self) -> str:
        return f"={self.rank}" if self.tied else str(self.rank)

    @property
    def total_text(self) -> str:
        return sm.show(Fraction(Decimal(f"{self.total:.4f}")))


@dataclass(frozen=True)
class ShortlistView:
    row: dict[str, Any]
    entries: list[ShortlistEntryView]
    stale: bool
    notes: tuple[str, ...]

    @property
    def confirmed(self) -> bool:
        return self.row["confirmed_at"] is not None

    @property
    def tied_at_cut(self) -> bool:
        return self.row["method"] == sm.ShortlistMethod.top_n.value and len(self.entries) > (
            self.row["top_n"] or 0
        )

    @property
    def threshold_text(self) -> str:
        return sm.show(_stored_threshold(self.row["threshold"]))


async def _shortlist_row(round_id: int) -> dict[str, Any] | None:
    return (
        await Shortlist.select(
            *Shortlist.all_columns(),
            Shortlist.proposed_by.name.as_alias("proposed_by_name"),
            Shortlist.confirmed_by.name.as_alias("confirmed_by_name"),
        )
        .where(Shortlist.round == round_id)
        .first()
    )


async def _entry_rows(shortlist_id: int) -> list[dict[str, Any]]:
    return (
        await ShortlistEntry.select(
            ShortlistEntry.application, ShortlistEntry.rank, ShortlistEntry.total
        )
        .where(ShortlistEntry.shortlist == shortlist_id)
        .order_by(ShortlistEntry.rank)
        .order_by(ShortlistEntry.id)
    )


async def shortlist_view(scores: RoundScores) -> ShortlistView | None:
    """The round's proposal (or confirmed shortlist) as the pages show it, or None."""
    row = await _shortlist_row(scores.round["id"])
    if row is None:
        return None
    stored = await _entry_rows(row["id"])
    ranks: dict[int, int] = {}
    for e in stored:
        ranks[e["rank"]] = ranks.get(e["rank"], 0) + 1
    entries = []
    for e in stored:
        app = scores.applications.get(e["application"])
        entries.append(
            ShortlistEntryView(
                application_id=e["application"],
                rank=e["rank"],
                tied=ranks[e["rank"]] > 1,
                total=e["total"],
                label=scores.display_name(e["application"]) if app else "Withdrawn application",
                name=app["name"] if app else "",
                email=app["email"] if app else "",
                organisation=app["organisation"] if app else "",
                reference=(app["reference"] or "") if app else "",
            )
        )
    current = _recompute(scores, row)
    stale = [(r.result.application_id, r.rank) for r in current.entries] != [
        (e["application"], e["rank"]) for e in stored
    ]
    return ShortlistView(
        row=row, entries=entries, stale=stale and row["confirmed_at"] is None, notes=current.notes
    )


def _ensure_note(text: str) -> str:
    note = (text or "").strip()
    if len(note) > MAX_NOTE:
        raise DomainError(f"Keep the note to {MAX_NOTE} characters or fewer.", field="note")
    return note


async def propose_shortlist(
    user_id: int, round_id: int, data: ShortlistInput, actor: Actor, now: datetime
) -> sm.Proposal:
    """Save the chair's proposal, replacing an unconfirmed earlier one."""
    await chair_of(user_id, round_id)
    scores = await round_scores(round_id)
    existing = await Shortlist.select().where(Shortlist.round == round_id).first()
    if existing and existing["confirmed_at"] is not None:
        raise Conflict("The shortlist has been confirmed; it can no longer be changed.")
    if scores.round["stage"] != SCORING_STAGE:
        raise Conflict("A shortlist can be proposed only while the round is being scored.")
    ensure_fully_scored(await round_coverage(scores), "propose a shortlist")
    proposal = build_proposal(scores, data)
    note = _ensure_note(data.note)
    if not proposal.entries:
        field = "top_n" if proposal.method is sm.ShortlistMethod.top_n else "threshold"
        raise DomainError(
            "No application would be shortlisted: no application has a complete score"
            + (" at or above that total." if field == "threshold" else "."),
            field=field,
        )
    now = ensure_aware_utc(now)
    values: dict[Any, Any] = {
        Shortlist.method: proposal.method.value,
        Shortlist.top_n: proposal.top_n,
        Shortlist.threshold: float(proposal.threshold) if proposal.threshold is not None else None,
        Shortlist.note: note,
        Shortlist.proposed_by: user_id,
        Shortlist.proposed_at: now,
    }
    if existing:
        updated = (
            await Shortlist.update(values)
            .where((Shortlist.id == existing["id"]) & Shortlist.confirmed_at.is_null())
            .returning(Shortlist.id)
        )
        if not updated:
            raise Conflict("The shortlist was confirmed just now; it can no longer be changed.")
        shortlist_id = existing["id"]
        await ShortlistEntry.delete().where(ShortlistEntry.shortlist == shortlist_id)
    else:
        rows = await Shortlist.insert(
            Shortlist(round=round_id, **{column._meta.name: v for column, v in values.items()})
        ).returning(Shortlist.id)
        shortlist_id = rows[0]["id"]
    await ShortlistEntry.insert(
        *(
            ShortlistEntry(
                shortlist=shortlist_id,
                application=r.result.application_id,
                rank=r.rank,
                total=float(r.result.total),
            )
            for r in proposal.entries
        )
    )
    await record_event(
        actor,
        "shortlist.proposed",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={
            "method": proposal.method.value,
            "top_n": proposal.top_n,
            "threshold": sm.show(proposal.threshold) if proposal.threshold is not None else None,
            "entries": [r.result.application_id for r in proposal.entries],
            "tied_at_cut": proposal.tied_at_cut,
            "replaced": existing is not None,
        },
    )
    return proposal


async def confirm_shortlist(
    round_id: int,
    actor: Actor,
    now: datetime,
    compose_pack_mail: Callable[[Any], Mail],
    *,
    expected_proposed_at: str | None = None,
) -> list[int]:
    """Confirm the chair's proposal (an admin's decision). Call inside ONE write
    transaction; returns the pack mails' outbox ids, to dispatch after commit."""
    from portal.domain.outcomes.pack_mail import queue_pack_mails

    round_row = await get_round(round_id)
    row = await Shortlist.select().where(Shortlist.round == round_id).first()
    if row is None:
        raise Conflict("The chair has not proposed a shortlist yet: there is nothing to confirm.")
    if row["confirmed_at"] is not None:
        raise Conflict("This shortlist has already been confirmed.")
    if round_row["stage"] != RoundStage.scoring.value:
        raise Conflict("A shortlist can be confirmed only while the round is being scored.")
    if expected_proposed_at is not None and expected_proposed_at != row["proposed_at"].isoformat():
        raise Conflict("The chair changed the proposal after you opened this page: check it again.")
    scores = await round_scores(round_id)
    ensure_fully_scored(await round_coverage(scores), "confirm the shortlist")
    stored = await _entry_rows(row["id"])
    current = _recompute(scores, row)
    if [(r.result.application_id, r.rank) for r in current.entries] != [
        (e["application"], e["rank"]) for e in stored
    ]:
        raise Conflict(
            "The scores have changed since the chair proposed this shortlist: "
            "ask the chair to propose it again."
        )
    now = ensure_aware_utc(now)
    confirmed = (
        await Shortlist.update({Shortlist.confirmed_by: actor.user_id, Shortlist.confirmed_at: now})
        .where((Shortlist.id == row["id"]) & Shortlist.confirmed_at.is_null())
        .returning(Shortlist.id)
    )
    if not confirmed:
        raise Conflict("This shortlist has already been confirmed.")
    ids = [e["application"] for e in stored]
    if not ids:
        raise Conflict("The proposal lists no application: ask the chair to propose it again.")
    marked = await transition_application(
        ids,
        ApplicationStatus.shortlisted,
        now,
        only_from=[ApplicationStatus.submitted],
        where=Application.round == round_id,
    )
    if len(marked) != len(ids):
        raise Conflict(
            "An application on the proposal is no longer submitted: "
            "ask the chair to propose the shortlist again."
        )
    message_ids = await transition_round(round_id, RoundStage.shortlisted, actor, now)
    await record_event(
        actor,
        "shortlist.confirmed",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={"shortlist_id": row["id"], "applications": ids},
    )
    message_ids += await queue_pack_mails(round_id, compose_pack_mail, now)
    return message_ids
