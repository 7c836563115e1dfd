"""Rows from the domain turned into the API's response bodies, for a given `now`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.domain.rounds.phase import RoundView
from portal.domain.seats.listings import pick_round
from portal.domain.timerules import ensure_aware_utc
from portal.web.api.schemas import CriterionOut, QuestionOut, RoundOut, SeatOut, SeatSummary

API_PATH = "/api/v1"


def round_out(row: dict[str, Any], now: datetime, base_url: str) -> RoundOut:
    view = RoundView.of(row, now)
    return RoundOut(
        id=view.id,
        seat_id=view.seat_id,
        timezone=view.timezone,
        opens_at=ensure_aware_utc(view.opens_at),
        closes_at=ensure_aware_utc(view.closes_at),
        opens_text=view.opens_text,
        closes_text=view.closes_text,
        remaining_text=view.remaining_text,
        phase=view.phase,
        stage=view.stage,
        anonymised=row["anonymised"],
        url=f"{base_url}{API_PATH}/rounds/{view.id}",
    )


def _current(rows: list[dict[str, Any]], rounds: list[RoundOut], now: datetime) -> RoundOut | None:
    """The round a visitor cares about, chosen by the same rule as the public pages."""
    chosen = pick_round([RoundView.of(row, now) for row in rows])
    return next((r for r in rounds if chosen is not None and r.id == chosen.id), None)


def _links(slug: str, base_url: str) -> dict[str, str]:
    return {"url": f"{base_url}{API_PATH}/seats/{slug}", "page_url": f"{base_url}/seats/{slug}"}


def seat_summary(seat: dict[str, Any], now: datetime, base_url: str) -> SeatSummary:
    rounds = [round_out(r, now, base_url) for r in seat["rounds"]]
    current = _current(seat["rounds"], rounds, now)
    return SeatSummary(
        id=seat["id"],
        slug=seat["slug"],
        title=seat["title"],
        summary=seat["summary"],
        phase=current.phase if current else None,
        round=current,
        **_links(seat["slug"], base_url),
    )


def seat_out(seat: dict[str, Any], now: datetime, base_url: str) -> SeatOut:
    rounds = [round_out(r, now, base_url) for r in seat["rounds"]]
    current = _current(seat["rounds"], rounds, now)
    return SeatOut(
        id=seat["id"],
        slug=seat["slug"],
        title=seat["title"],
        summary=seat["summary"],
        description=seat["description"],
        eligibility=seat["eligibility"],
        represents=seat["represents"],
        time_commitment=seat["time_commitment"],
        remuneration=seat["remuneration"],
        location=seat["location"],
        how_to_apply=seat["how_to_apply"],
        published=seat["published"],
        updated_at=ensure_aware_utc(seat["updated_at"]),
        phase=current.phase if current else None,
        round=current,
        criteria=[
            CriterionOut(id=c["id"], title=c["title"], guidance=c["guidance"], weight=c["weight"])
            for c in seat["criteria"]
        ],
        questions=[
            QuestionOut(
                id=q["id"], prompt=q["prompt"], word_limit=q["word_limit"], required=q["required"]
            )
            for q in seat["questions"]
        ],
        rounds=rounds,
        **_links(seat["slug"], base_url),
    )
