"""Moderation: the round's scores aggregated in SQL, the chair's agreed scores, the scores CSV.

Which sheets count (the one rule, applied in `_TALLY_SQL` and in the CSV's "Counted"):
a sheet counts when it is submitted, its member is still on the panel (not removed),
the application reaches the panel (submitted or later, not withdrawn), and the member
is not excluded from that application by a conflict. A member is excluded as
`portal.domain.panel_access.conflicted_application_ids` decides: a conflict row the
chair has not ruled minor, or an application from an organisation the member declared
(unless a conflict row for that pair was ruled minor).

Assumption about organisation conflicts: the declarations helper may materialise
organisation matches as PanelConflict rows (source "organisation"); those are handled
by the SQL like any other conflict row. Matches that have *no* row (normalising an
organisation's name cannot be done the same way in SQL on both engines) are found
here in Python, from the few declared organisations, and their sheets are left out
of the SQL by id. So the result is the same whether or not rows were materialised.

The database returns COUNT, SUM, MIN and MAX per (application, criterion) rather than
AVG: the mean is then an exact fraction, so equal scores tie exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain import scoring_math as sm
from portal.domain.audit import Actor, record_event
from portal.domain.csv_export import csv_bytes
from portal.domain.errors import Conflict, DomainError, NotFound, ensure_record_id
from portal.domain.panel_access import (
    NOT_FOUND,
    PANEL_STATUSES,
    ConflictDecision,
    conflicted_application_ids,
    ensure_chair,
    ensure_ready,
    identities_visible,
    membership,
    normalise_organisation,
    panel_label,
)
from portal.domain.timerules import ensure_aware_utc
from portal.tables import (
    AgreedScore,
    Application,
    Criterion,
    PanelConflict,
    PanelMember,
    PanelOrganisation,
    Round,
    Score,
    ScoreSheet,
)

MAX_RATIONALE = 2000
SCORING_STAGE = "scoring"

_STATUSES_SQL = ", ".join(f"'{s}'" for s in PANEL_STATUSES)
# The counted sheets `ss` (see the module's docstring); two parameters: the round, twice.
_COUNTED = f"""
    JOIN panel_member AS pm ON pm.id = ss.member
    JOIN application AS a ON a.id = ss.application
    WHERE a.round = {{}} AND pm.round = {{}}
      AND pm.removed_at IS NULL
      AND ss.submitted_at IS NOT NULL
      AND a.status IN ({_STATUSES_SQL})
      AND NOT EXISTS (
        SELECT 1 FROM panel_conflict AS pc
        WHERE pc.member = ss.member AND pc.application = ss.application
          AND pc.decision <> '{ConflictDecision.minor.value}'
      )
"""
_TALLY_SQL = """
    SELECT ss.application AS application_id, s.criterion AS criterion_id,
           COUNT(s.value) AS n, SUM(s.value) AS total, MIN(s.value) AS low, MAX(s.value) AS high
    FROM score AS s
    JOIN score_sheet AS ss ON ss.id = s.sheet
    {counted} AND s.value IS NOT NULL
    GROUP BY ss.application, s.criterion
"""
_SCORERS_SQL = """
    SELECT ss.application AS application_id, COUNT(*) AS n
    FROM score_sheet AS ss
    {counted}
    GROUP BY ss.application
"""


def _counted_sheets(extra_excluded: set[int]) -> str:
    """The counted-sheets filter, leaving out organisation matches that have no conflict row."""
    extra = ""
    if extra_excluded:
        extra = f" AND ss.id NOT IN ({', '.join(str(int(i)) for i in sorted(extra_excluded))})"
    return _COUNTED + extra


@dataclass(frozen=True)
class RoundScores:
    """Everything the moderation page, the shortlist and the CSV need, computed once."""

    round: dict[str, Any]
    seat_title: str
    criteria: tuple[sm.CriterionInfo, ...]
    applications: dict[int, dict[str, Any]]
    ranked: list[sm.Ranked]
    identities_visible: bool
    max_total: int
    excluded_pairs: frozenset[tuple[int, int]]  # (member id, application id)

    def label(self, application_id: int) -> str:
        return panel_label(self.applications[application_id])

    def display_name(self, application_id: int) -> str:
        """The applicant's name when identities are visible, else "Applicant 7"."""
        row = self.applications[application_id]
        if self.identities_visible:
            return row["name"] or row["email"]
        return panel_label(row)


async def _round_and_seat(round_id: int) -> tuple[dict[str, Any], str]:
    ensure_record_id(round_id, NOT_FOUND)
    row = (
        await Round.select(*Round.all_columns(), Round.seat.title.as_alias("seat_title"))
        .where(Round.id == round_id)
        .first()
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    return row, row["seat_title"]


async def _criteria(seat_id: int) -> tuple[sm.CriterionInfo, ...]:
    rows = (
        await Criterion.select(Criterion.id, Criterion.title, Criterion.weight)
        .where(Criterion.seat == seat_id)
        .order_by(Criterion.position)
        .order_by(Criterion.id)
    )
    return tuple(sm.CriterionInfo(id=r["id"], title=r["title"], weight=r["weight"]) for r in rows)


async def _applications(round_id: int) -> dict[int, dict[str, Any]]:
    rows = await Application.select(
        Application.id,
        Application.panel_number,
        Application.reference,
        Application.status,
        Application.applicant.name.as_alias("name"),
        Application.applicant.email.as_alias("email"),
        Application.applicant.organisation.as_alias("organisation"),
    ).where((Application.round == round_id) & Application.status.is_in(list(PANEL_STATUSES)))
    return {r["id"]: r for r in rows}


async def _exclusions(
    round_id: int, applications: dict[int, dict[str, Any]]
) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """(every excluded (member, application) pair, the organisation matches with no row)."""
    conflicts = await PanelConflict.select(
        PanelConflict.member, PanelConflict.application, PanelConflict.decision
    ).where((PanelConflict.member.round == round_id) & PanelConflict.member.removed_at.is_null())
    with_row = {(c["member"], c["application"]) for c in conflicts}
    excluded = {
        (c["member"], c["application"])
        for c in conflicts
        if c["decision"] != ConflictDecision.minor.value and c["application"] in applications
    }
    declared = await PanelOrganisation.select(
        PanelOrganisation.member, PanelOrganisation.normalised
    ).where(
        (PanelOrganisation.member.round == round_id) & PanelOrganisation.member.removed_at.is_null()
    )
    by_organisation: dict[str, list[int]] = {}
    if declared:
        for app in applications.values():
            name = normalise_organisation(app["organisation"])
            if name:
                by_organisation.setdefault(name, []).append(app["id"])
    matches = {
        (d["member"], app_id)
        for d in declared
        if d["normalised"]
        for app_id in by_organisation.get(d["normalised"], [])
    }
    without_row = matches - with_row
    return excluded | without_row, without_row


async def _sheet_ids(pairs: set[tuple[int, int]]) -> set[int]:
    if not pairs:
        return set()
    members = sorted({m for m, _ in pairs})
    rows = await ScoreSheet.select(ScoreSheet.id, ScoreSheet.member, ScoreSheet.application).where(
        ScoreSheet.member.is_in(members)
    )
    return {r["id"] for r in rows if (r["member"], r["application"]) in pairs}


async def _tallies(
    round_id: int, extra_excluded: set[int]
) -> tuple[dict[int, dict[int, sm.Tally]], dict[int, int]]:
    counted = _counted_sheets(extra_excluded)
    rows = await Score.raw(_TALLY_SQL.format(counted=counted), round_id, round_id)
    tallies: dict[int, dict[int, sm.Tally]] = {}
    for r in rows:
        tallies.setdefault(r["application_id"], {})[r["criterion_id"]] = sm.Tally(
            count=int(r["n"]), total=int(r["total"]), low=r["low"], high=r["high"]
        )
    scorer_rows = await ScoreSheet.raw(_SCORERS_SQL.format(counted=counted), round_id, round_id)
    return tallies, {r["application_id"]: int(r["n"]) for r in scorer_rows}


async def _agreed(round_id: int) -> dict[int, dict[int, dict[str, Any]]]:
    rows = await AgreedScore.select(
        AgreedScore.application, AgreedScore.criterion, AgreedScore.value, AgreedScore.rationale
    ).where(AgreedScore.application.round == round_id)
    agreed: dict[int, dict[int, dict[str, Any]]] = {}
    for r in rows:
        agreed.setdefault(r["application"], {})[r["criterion"]] = r
    return agreed


async def round_scores(round_id: int) -> RoundScores:
    """Aggregate the round's scores (SQL), then rank them (pure functions). No access check."""
    round_row, seat_title = await _round_and_seat(round_id)
    criteria = await _criteria(round_row["seat"])
    applications = await _applications(round_id)
    excluded, without_row = await _exclusions(round_id, applications)
    tallies, scorers = await _tallies(round_id, await _sheet_ids(without_row))
    agreed = await _agreed(round_id)
    excluded_count: dict[int, int] = {}
    for _, app_id in excluded:
        excluded_count[app_id] = excluded_count.get(app_id, 0) + 1
    results = [
        sm.score_application(
            app_id,
            criteria,
            tallies.get(app_id, {}),
            {c: a["value"] for c, a in agreed.get(app_id, {}).items()},
            scorers=scorers.get(app_id, 0),
            excluded=excluded_count.get(app_id, 0),
        )
        for app_id in applications
    ]
    order = {a["id"]: a["panel_number"] or 10**9 + a["id"] for a in applications.values()}
    return RoundScores(
        round=round_row,
        seat_title=seat_title,
        criteria=criteria,
        applications=applications,
        ranked=sm.rank_results(results, order),
        identities_visible=identities_visible(round_row),
        max_total=sm.max_total(criteria, round_row["scale_max"]),
        excluded_pairs=frozenset(excluded),
    )


# ---- The chair's pages -------------------------------------------------------------


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


@dataclass(frozen=True)
class AgreedScorePage:
    view: ModerationView
    ranked: sm.Ranked
    agreed: dict[int, dict[str, Any]]  # criterion id -> value and rationale

    @property
    def label(self) -> str:
        return self.view.scores.display_name(self.ranked.result.application_id)


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
    agreed = (await _agreed(round_id)).get(application_id, {})
    return AgreedScorePage(view=view, ranked=ranked, agreed=agreed)


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
    round_row, _ = await _round_and_seat(round_id)
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
    criteria = {c.id: c for c in await _criteria(round_row["seat"])}
    criterion_id = sm.parse_id(data.criterion)
    if criterion_id is None or criterion_id not in criteria:
        raise DomainError("Choose one of the criteria.", field="criterion")
    value = sm.parse_score(data.value, round_row["scale_max"])
    rationale = _ensure_rationale(data.rationale)
    now = ensure_aware_utc(now)
    existing = (
        await AgreedScore.select(AgreedScore.id, AgreedScore.value)
        .where(
            (AgreedScore.application == application_id) & (AgreedScore.criterion == criterion_id)
        )
        .first()
    )
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


# ---- The scores CSV (admins) -------------------------------------------------------

CSV_HEADER = (
    "Rank",
    "Reference",
    "Applicant",
    "Organisation",
    "Panel label",
    "Status",
    "Weighted total",
    "Total complete",
    "Member",
    "Member email",
    "Member role",
    "Sheet submitted (UTC)",
    "Counted",
    "Criterion",
    "Weight",
    "Score",
    "Comment",
    "Criterion mean",
    "Criterion spread",
    "Agreed score",
    "Agreed rationale",
)


async def _sheet_scores(round_id: int) -> tuple[list[dict[str, Any]], dict[tuple[int, int], Any]]:
    sheets = (
        await ScoreSheet.select(
            ScoreSheet.id,
            ScoreSheet.application,
            ScoreSheet.member,
            ScoreSheet.submitted_at,
            ScoreSheet.member.role.as_alias("role"),
            ScoreSheet.member.removed_at.as_alias("removed_at"),
            ScoreSheet.member.user.name.as_alias("name"),  # type: ignore[union-attr]
            ScoreSheet.member.user.email.as_alias("email"),  # type: ignore[union-attr]
        )
        .where(ScoreSheet.member.round == round_id)
        .order_by(ScoreSheet.member.user.name)  # type: ignore[union-attr]
        .order_by(ScoreSheet.id)
    )
    scores = await Score.select(Score.sheet, Score.criterion, Score.value, Score.comment).where(
        Score.sheet.member.round == round_id  # type: ignore[union-attr]
    )
    return sheets, {(s["sheet"], s["criterion"]): s for s in scores}


def _counted(sheet: dict[str, Any], excluded: frozenset[tuple[int, int]]) -> str:
    if sheet["removed_at"] is not None:
        return "No: member removed from the panel"
    if (sheet["member"], sheet["application"]) in excluded:
        return "No: conflict of interest"
    if sheet["submitted_at"] is None:
        return "No: not submitted"
    return "Yes"


async def export_scores(round_id: int, actor: Actor, now: datetime) -> tuple[RoundScores, bytes]:
    """Every member's score and comment per application and criterion, with totals. Audited."""
    scores = await round_scores(round_id)
    agreed = await _agreed(round_id)
    sheets, values = await _sheet_scores(round_id)
    by_application: dict[int, list[dict[str, Any]]] = {}
    for row in sheets:
        by_application.setdefault(row["application"], []).append(row)
    rows: list[list[object]] = []
    for ranked in scores.ranked:
        result = ranked.result
        app = scores.applications[result.application_id]
        head = [
            ranked.label,
            app["reference"] or "",
            app["name"],
            app["organisation"],
            panel_label(app),
            app["status"],
            sm.show(result.total),
            "Yes" if result.complete else "No: a criterion has no score",
        ]
        app_sheets: list[dict[str, Any] | None] = [*by_application.get(result.application_id, [])]
        if not app_sheets:
            app_sheets = [None]
        for sheet in app_sheets:
            for cs in result.criteria:
                c = cs.criterion
                score = values.get((sheet["id"], c.id)) if sheet else None
                agreed_row = agreed.get(result.application_id, {}).get(c.id)
                member_cells: list[object] = (
                    [
                        sheet["name"],
                        sheet["email"],
                        sheet["role"],
                        sheet["submitted_at"].isoformat() if sheet["submitted_at"] else "",
                        _counted(sheet, scores.excluded_pairs),
                    ]
                    if sheet
                    else ["", "", "", "", "No sheets"]
                )
                rows.append(
                    [
                        *head,
                        *member_cells,
                        c.title,
                        c.weight,
                        "" if score is None or score["value"] is None else score["value"],
                        score["comment"] if score else "",
                        sm.show(cs.mean) if cs.mean is not None else "",
                        cs.spread if cs.spread is not None else "",
                        agreed_row["value"] if agreed_row else "",
                        agreed_row["rationale"] if agreed_row else "",
                    ]
                )
    await record_event(
        actor,
        "scores.exported",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={"applications": len(scores.applications), "rows": len(rows)},
    )
    return scores, csv_bytes(CSV_HEADER, rows)


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
