"""Whether every application has been scored enough to be shortlisted out, or turned down.

An application reaching the panel needs at least the round's minimum of completed
(submitted) score sheets that count: by default, one from every member on the panel
who is not conflicted with it (`Round.min_score_sheets` unset). A round whose
panel is smaller than a minimum it sets cannot meet it. The only way past a shortfall
is the chair's explicit, audited decision for that application ("not scored: reason"),
which the admin sees when confirming the shortlist.

Which sheets count is the tally's rule (`portal.domain.scoring.tally`), so a sheet
from a member who is conflicted with the application, or who left the panel, counts
for nothing here either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, NotFound, ensure_record_id
from portal.domain.panels.access import NOT_FOUND, panel_label
from portal.domain.scoring.moderation import SCORING_STAGE, chair_of
from portal.domain.scoring.tally import RoundScores, round_scores
from portal.domain.timerules import ensure_aware_utc
from portal.tables import PanelMember, ScoreSheet, UnscoredDecision

MAX_REASON = 2000


@dataclass(frozen=True)
class Coverage:
    """One application's scoring: who has submitted a sheet that counts, who has not."""

    application_id: int
    number: int  # its panel number, which panel URLs carry
    label: str  # "Applicant 7": the panel's name for it, whatever the round
    required: int
    completed: int
    missing_from: tuple[str, ...]  # names of eligible members without a submitted sheet
    decision: dict[str, Any] | None = None  # the chair's "not scored" decision, if any

    @property
    def sheets_text(self) -> str:
        """ "3 score sheets", "1 score sheet"."""
        return f"{self.required} score sheet{'' if self.required == 1 else 's'}"

    @property
    def short(self) -> bool:
        return self.completed < self.required

    @property
    def unscored(self) -> bool:
        return self.completed == 0

    @property
    def blocking(self) -> bool:
        """Short of scores with no chair decision: it may not be shortlisted out."""
        return self.short and self.decision is None


@dataclass(frozen=True)
class RoundCoverage:
    applications: list[Coverage] = field(default_factory=list)

    @property
    def blocking(self) -> list[Coverage]:
        return [c for c in self.applications if c.blocking]

    @property
    def decided(self) -> list[Coverage]:
        return [c for c in self.applications if c.short and c.decision is not None]

    def of(self, application_id: int) -> Coverage | None:
        return next((c for c in self.applications if c.application_id == application_id), None)

    def refusal(self, doing: str) -> str:
        """Why `doing` ("propose a shortlist") is refused: each application short of
        scores, by panel number, and who has not scored it."""
        parts = []
        for c in self.blocking:
            who = ", ".join(c.missing_from) if c.missing_from else "no member can score it"
            parts.append(f"{c.label} has {c.completed} of {c.sheets_text} ({who})")
        return (
            f"You cannot {doing} yet: "
            + "; ".join(parts)
            + ". Wait for those sheets, or record a decision to go ahead without them."
        )


async def _members(round_id: int) -> list[dict[str, Any]]:
    return (
        await PanelMember.select(PanelMember.id, PanelMember.user.name.as_alias("name"))
        .where(
            (PanelMember.round == round_id)
            & PanelMember.accepted_at.is_not_null()
            & PanelMember.removed_at.is_null()
        )
        .order_by(PanelMember.id)
    )


async def round_coverage(scores: RoundScores) -> RoundCoverage:
    """Every application that reaches the panel, with its scoring and any chair decision."""
    round_id = scores.round["id"]
    members = await _members(round_id)
    member_ids = [m["id"] for m in members]
    submitted = set()
    if member_ids:
        submitted = {
            (r["member"], r["application"])
            for r in await ScoreSheet.select(ScoreSheet.member, ScoreSheet.application).where(
                ScoreSheet.member.is_in(member_ids) & ScoreSheet.submitted_at.is_not_null()
            )
        }
    decisions = {
        d["application"]: d
        for d in await UnscoredDecision.select(
            *UnscoredDecision.all_columns(),
            UnscoredDecision.decided_by.name.as_alias("decided_by_name"),
        ).where(UnscoredDecision.round == round_id)
    }
    minimum = scores.round.get("min_score_sheets")
    out = []
    for app_id, app in sorted(
        scores.applications.items(), key=lambda kv: (kv[1]["panel_number"] or 10**9, kv[0])
    ):
        if app["status"] not in ("submitted", "shortlisted"):
            continue  # already decided: unsuccessful or appointed
        eligible = [m for m in members if (m["id"], app_id) not in scores.excluded_pairs]
        done = [m for m in eligible if (m["id"], app_id) in submitted]
        required = minimum if minimum is not None else len(eligible)
        out.append(
            Coverage(
                application_id=app_id,
                number=app["panel_number"] or 0,
                label=panel_label(app),
                required=max(required, 1),
                completed=len(done),
                missing_from=tuple(m["name"] for m in eligible if m not in done),
                decision=decisions.get(app_id),
            )
        )
    return RoundCoverage(out)


def ensure_fully_scored(coverage: RoundCoverage, doing: str) -> None:
    if coverage.blocking:
        raise Conflict(coverage.refusal(doing), field="coverage")


def _reason(text: str) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise DomainError(
            "Say why this application goes forward without its scores.", field="reason"
        )
    if len(reason) > MAX_REASON:
        raise DomainError(f"Keep the reason to {MAX_REASON} characters or fewer.", field="reason")
    return reason


async def record_not_scored(
    user_id: int,
    round_id: int,
    application_id: int,
    reason: str,
    actor: Actor,
    now: datetime,
) -> None:
    """The chair's decision that an application short of score sheets may go forward
    (audited; replaces an earlier decision for it), while the round is being scored.
    Only for an application that is short: one fully scored needs no decision."""
    ensure_record_id(application_id, NOT_FOUND)
    member = await chair_of(user_id, round_id)
    scores = await round_scores(round_id)
    if scores.round["stage"] != SCORING_STAGE:
        raise Conflict("Decisions about scoring can be recorded only while the round is scored.")
    coverage = (await round_coverage(scores)).of(application_id)
    if coverage is None:
        raise NotFound(NOT_FOUND)
    if not coverage.short:
        raise DomainError(
            f"{coverage.label} has all its score sheets: no decision is needed.", field="reason"
        )
    reason = _reason(reason)
    now = ensure_aware_utc(now)
    await UnscoredDecision.delete().where(UnscoredDecision.application == application_id)
    await UnscoredDecision.insert(
        UnscoredDecision(
            round=round_id,
            application=application_id,
            reason=reason,
            decided_by=member["user"],
            decided_at=now,
        )
    )
    await record_event(
        actor,
        "scoring.not_scored_decision",
        "application",
        application_id,
        now,
        round_id=round_id,
        detail={
            "label": coverage.label,
            "completed": coverage.completed,
            "required": coverage.required,
            "missing_from": list(coverage.missing_from),
            "reason": reason,
        },
    )
