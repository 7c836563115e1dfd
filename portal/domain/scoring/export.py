"""The scores CSV for admins: every member's score and comment per application and
criterion, with totals, ranks, agreed scores and whether each sheet counted. Audited.

The "Counted" column states the same rule `portal.domain.scoring.tally` applies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.csv_export import csv_bytes
from portal.domain.panels.access import panel_label
from portal.domain.scoring import arithmetic as sm
from portal.domain.scoring.tally import RoundScores, agreed_scores, round_scores
from portal.tables import Score, ScoreSheet

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
    agreed = await agreed_scores(round_id)
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
