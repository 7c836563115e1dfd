"""The round's scores aggregated in SQL and ranked: what moderation, the shortlist and
the scores CSV all read, computed one way.

Which sheets count (the one rule, applied in `_TALLY_SQL` and in the CSV's "Counted"):
a sheet counts when it is submitted, its member is still on the panel (not removed),
the application reaches the panel (submitted or later, not withdrawn), and the member
is not excluded from that application by a conflict. A member is excluded as
`portal.domain.panels.access.conflicted_application_ids` decides: a conflict row the
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
from typing import Any

from portal.domain.errors import NotFound, ensure_record_id
from portal.domain.panels.access import (
    NOT_FOUND,
    PANEL_STATUSES,
    ConflictDecision,
    Revealed,
    normalise_organisation,
    panel_label,
    revealed_applications,
)
from portal.domain.scoring import arithmetic as sm
from portal.tables import (
    AgreedScore,
    Application,
    Criterion,
    PanelConflict,
    PanelOrganisation,
    Round,
    Score,
    ScoreSheet,
)

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
    revealed: Revealed  # whose names the panel may see
    max_total: int
    excluded_pairs: frozenset[tuple[int, int]]  # (member id, application id)

    def label(self, application_id: int) -> str:
        return panel_label(self.applications[application_id])

    def number(self, application_id: int) -> int:
        """The panel number, which panel URLs carry instead of the application's id."""
        return self.applications[application_id]["panel_number"] or 0

    def application_numbered(self, number: int) -> int | None:
        return next((i for i, a in self.applications.items() if a["panel_number"] == number), None)

    def display_name(self, application_id: int) -> str:
        """The applicant's name where the panel may know it, else "Applicant 7"."""
        row = self.applications[application_id]
        if application_id in self.revealed:
            return row["name"] or row["email"]
        return panel_label(row)


async def round_and_seat(round_id: int) -> tuple[dict[str, Any], str]:
    ensure_record_id(round_id, NOT_FOUND)
    row = (
        await Round.select(*Round.all_columns(), Round.seat.title.as_alias("seat_title"))
        .where(Round.id == round_id)
        .first()
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    return row, row["seat_title"]


async def seat_criteria(seat_id: int) -> tuple[sm.CriterionInfo, ...]:
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


async def agreed_scores(round_id: int) -> dict[int, dict[int, dict[str, Any]]]:
    rows = await AgreedScore.select(
        AgreedScore.application,
        AgreedScore.criterion,
        AgreedScore.value,
        AgreedScore.rationale,
        AgreedScore.recorded_at,
    ).where(AgreedScore.application.round == round_id)
    agreed: dict[int, dict[int, dict[str, Any]]] = {}
    for r in rows:
        agreed.setdefault(r["application"], {})[r["criterion"]] = r
    return agreed


async def round_scores(round_id: int) -> RoundScores:
    """Aggregate the round's scores (SQL), then rank them (pure functions). No access check."""
    round_row, seat_title = await round_and_seat(round_id)
    criteria = await seat_criteria(round_row["seat"])
    applications = await _applications(round_id)
    excluded, without_row = await _exclusions(round_id, applications)
    tallies, scorers = await _tallies(round_id, await _sheet_ids(without_row))
    agreed = await agreed_scores(round_id)
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
        revealed=await revealed_applications(round_row),
        max_total=sm.max_total(criteria, round_row["scale_max"]),
        excluded_pairs=frozenset(excluded),
    )
