"""Moderation: the chair's view of the round's scores and the agreed scores the chair
records while the round is being scored.

The scores themselves are aggregated in `portal.domain.scoring.tally`; the admins'
CSV of them is `portal.domain.scoring.export`. Only a ready chair gets past
`chair_of`; anyone else, and any application the chair is conflicted on, is NotFound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import Conflict, DomainError, NotFound, ensure_record_id
from portal.domain.panels.access import (
    NOT_FOUND,
    PANEL_STATUSES,
    conflicted_application_ids,
    ensure_chair,
    ensure_ready,
    membership,
)
from portal.domain.scoring import arithmetic as sm
from portal.domain.scoring.tally import (
    RoundScores,
    agreed_scores,
    round_and_seat,
    round_scores,
    seat_criteria,
)
from portal.domain.timerules import ensure_aware_utc
from portal.tables import AgreedScore, Application, PanelMember, Score

MAX_RATIONALE = 2000
SCORING_STAGE = "scoring"


async def chair_of(user_id: int, round_id: int) -> dict[str, Any]:
    """The user's chair membership of the round; anyone else gets NotFound."""
    member = await membership(user_id, round_id)
    ensure_chair(member)
    ensure_ready(member)
    return member


@dataclass(frozen=True)
class ModerationView:
    scores: RoundScores
    member: dict[str, Any]
    conflicted: frozenset[int]  # applications the chair may not moderate

    @property
    def editable(self) -> bool:
        return self.scores.round["stage"] == SCORING_STAGE


async def moderation_view(user_id: int, round_id: int) -> ModerationView:
    member = await chair_of(user_id, round_id)
    scores = await round_scores(round_id)
    conflicted = await conflicted_application_ids(member)
    return ModerationView(scores=scores, member=member, conflicted=frozenset(conflicted))


@dataclass
class AgreedScoreInput:
    """The agreed-score form as sent (strings: checked here, not by the framework)."""

    criterion: str = ""
    value: str = ""
    rationale: str = ""
    # What the page showed: "criterion id=when its agreed score was recorded" for each
    # criterion, comma-separated (empty time: none yet). A save for a criterion whose
    # agreed score was recorded again since is refused, showing both.
    seen: str = ""


def seen_token(agreed: dict[int, dict[str, Any]], criteria: list[int]) -> str:
    """The `seen` value a page carries for these criteria and their agreed scores."""
    parts = []
    for criterion_id in criteria:
        recorded = agreed.get(criterion_id, {}).get("recorded_at")
        parts.append(f"{criterion_id}={recorded.isoformat() if recorded else ''}")
    return ",".join(parts)


def _seen(token: str) -> dict[int, str] | None:
    """criterion id -> recorded_at text as the page showed it; None if the page sent none."""
    if not token or len(token) > 4000:
        return None
    out: dict[int, str] = {}
    for part in token.split(","):
        key, _, when = part.partition("=")
        if key.isdigit() and len(key) < 10:
            out[int(key)] = when
    return out


class StaleAgreedScore(Conflict):
    """The agreed score for this criterion was recorded again after the page was shown."""

    def __init__(self, saved: dict[str, Any]) -> None:
        super().__init__(
            "Someone recorded an agreed score for this criterion after you opened this page "
            f"({saved['value']}: “{saved['rationale']}”). Nothing was saved: check it, then "
            "save yours again if it should replace it.",
            field="value",
        )
        self.saved = saved


@dataclass(frozen=True)
class AgreedScorePage:
    view: ModerationView
    ranked: sm.Ranked
    agreed: dict[int, dict[str, Any]]  # criterion id -> value and rationale
    # criterion id -> each counted member's score and comment, for the chair to weigh
    comments: dict[int, list[dict[str, Any]]]

    @property
    def label(self) -> str:
        return self.view.scores.display_name(self.ranked.result.application_id)

    @property
    def number(self) -> int:
        return self.view.scores.number(self.ranked.result.application_id)

    @property
    def seen(self) -> str:
        return seen_token(self.agreed, [c.id for c in self.view.scores.criteria])


async def _member_comments(
    scores: RoundScores, application_id: int
) -> dict[int, list[dict[str, Any]]]:
    """The scores and comments that count (the tally's rule), by criterion, with who gave them."""
    rows = (
        await Score.select(
            Score.criterion,
            Score.value,
            Score.comment,
            Score.sheet.member.as_alias("member"),
            Score.sheet.member.user.name.as_alias("name"),
        )
        .where(
            (Score.sheet.application == application_id)
            & Score.sheet.submitted_at.is_not_null()
            & Score.sheet.member.removed_at.is_null()
        )
        .order_by(Score.sheet.member.id)
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        if (row["member"], application_id) not in scores.excluded_pairs:
            out.setdefault(row["criterion"], []).append(row)
    return out


async def agreed_score_page(user_id: int, round_id: int, application_id: int) -> AgreedScorePage:
    ensure_record_id(application_id, NOT_FOUND)
    view = await moderation_view(user_id, round_id)
    if application_id in view.conflicted:
        raise NotFound(NOT_FOUND)
    ranked = next(
        (r for r in view.scores.ranked if r.result.application_id == application_id), None
    )
    if ranked is None:
        raise NotFound(NOT_FOUND)
    agreed = (await agreed_scores(round_id)).get(application_id, {})
    comments = await _member_comments(view.scores, application_id)
    return AgreedScorePage(view=view, ranked=ranked, agreed=agreed, comments=comments)


def _ensure_rationale(text: str) -> str:
    rationale = (text or "").strip()
    if not rationale:
        raise DomainError(
            "Give the rationale for the agreed score: it is kept with the score.",
            field="rationale",
        )
    if len(rationale) > MAX_RATIONALE:
        raise DomainError(
            f"Keep the rationale to {MAX_RATIONALE} characters or fewer.", field="rationale"
        )
    return rationale


async def record_agreed_score(
    user_id: int,
    round_id: int,
    application_id: int,
    data: AgreedScoreInput,
    actor: Actor,
    now: datetime,
) -> None:
    """The chair's agreed score for one criterion of one application, replacing any earlier one."""
    ensure_record_id(application_id, NOT_FOUND)
    member = await chair_of(user_id, round_id)
    round_row, _ = await round_and_seat(round_id)
    app = (
        await Application.select(Application.id)
        .where(
            (Application.id == application_id)
            & (Application.round == round_id)
            & Application.status.is_in(list(PANEL_STATUSES))
        )
        .first()
    )
    if app is None or application_id in await conflicted_application_ids(member):
        raise NotFound(NOT_FOUND)
    if round_row["stage"] != SCORING_STAGE:
        raise Conflict(
            "Agreed scores can be recorded only while the round is being scored; "
            + (
                "scoring has not started yet."
                if round_row["stage"] == "collecting"
                else "this round has moved on."
            )
        )
    criteria = {c.id: c for c in await seat_criteria(round_row["seat"])}
    criterion_id = sm.parse_id(data.criterion)
    if criterion_id is None or criterion_id not in criteria:
        raise DomainError("Choose one of the criteria.", field="criterion")
    value = sm.parse_score(data.value, round_row["scale_max"])
    rationale = _ensure_rationale(data.rationale)
    now = ensure_aware_utc(now)
    existing = (
        await AgreedScore.select(
            AgreedScore.id, AgreedScore.value, AgreedScore.rationale, AgreedScore.recorded_at
        )
        .where(
            (AgreedScore.application == application_id) & (AgreedScore.criterion == criterion_id)
        )
        .first()
    )
    seen = _seen(data.seen)
    if seen is not None and criterion_id in seen:
        recorded = existing["recorded_at"].isoformat() if existing else ""
        if recorded != seen[criterion_id] and not (
            existing and existing["value"] == value and existing["rationale"] == rationale
        ):
            raise StaleAgreedScore(existing or {"value": "none", "rationale": "removed"})
    if existing:
        await AgreedScore.update(
            {
                AgreedScore.value: value,
                AgreedScore.rationale: rationale,
                AgreedScore.recorded_by: user_id,
                AgreedScore.recorded_at: now,
            }
        ).where(AgreedScore.id == existing["id"])
    else:
        await AgreedScore.insert(
            AgreedScore(
                application=application_id,
                criterion=criterion_id,
                value=value,
                rationale=rationale,
                recorded_by=user_id,
                recorded_at=now,
            )
        )
    await record_event(
        actor,
        "moderation.agreed_score",
        "application",
        application_id,
        now,
        round_id=round_id,
        detail={
            "criterion_id": criterion_id,
            "criterion": criteria[criterion_id].title,
            "value": value,
            "previous": existing["value"] if existing else None,
            "rationale": rationale,
        },
    )


async def live_chair(round_id: int) -> dict[str, Any] | None:
    """The round's chair (name and email), for the admin page; None if it has none."""
    return (
        await PanelMember.select(
            PanelMember.id,
            PanelMember.user.name.as_alias("name"),
            PanelMember.user.email.as_alias("email"),
        )
        .where(
            (PanelMember.round == round_id)
            & (PanelMember.role == "chair")
            & PanelMember.removed_at.is_null()
        )
        .first()
    )
