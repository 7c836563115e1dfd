"""Scoring arithmetic for moderation and the shortlist: pure functions, no database.

The rules, stated once:

- A criterion's **mean** and **spread** (highest minus lowest) are taken over the
  scores on *submitted* sheets of members *not excluded by a conflict* (the caller's
  SQL chooses those sheets; here they arrive as a `Tally`).
- The chair's **agreed score** for a criterion replaces the mean for that criterion.
- **Weighted total** = Σ weight × (agreed score, else mean). Means are kept as exact
  fractions (from SUM and COUNT), so two applications with the same scores always
  tie exactly; nothing is rounded until it is shown.
- **Missing**: a criterion (of weight > 0) with no score on any counted sheet and no
  agreed score is missing. It is never counted as 0: the total of an application
  with a missing criterion is the sum of what it has, marked *incomplete*, and an
  incomplete application is not ranked and never proposed for the shortlist. The
  chair completes it by recording an agreed score for the missing criterion.
- **Disagreement**: the spread on some criterion is 2 points or more.
- **Ranking**: complete applications by total, highest first; equal totals share a
  rank (standard competition ranking, 1, 2, =3, =3, 5) shown as "=3".
- **Shortlist proposal**: the top N by rank (if the Nth place is tied, every
  application tied at it is included, and the proposal says so; ties are never
  broken silently), or everyone whose total is at or above a threshold.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from portal.domain.errors import DomainError

DISAGREEMENT_SPREAD = 2
MAX_TOP_N = 10_000
# ASCII digits only: str.isdigit() also accepts "٣" and "²".
_WHOLE = re.compile(r"[0-9]{1,6}")
_DECIMAL = re.compile(r"[0-9]{1,6}(\.[0-9]{1,2})?")


class ShortlistMethod(enum.StrEnum):
    top_n = "top_n"
    threshold = "threshold"


@dataclass(frozen=True)
class CriterionInfo:
    id: int
    title: str
    weight: int


@dataclass(frozen=True)
class Tally:
    """The counted member scores of one criterion of one application: what SQL aggregates."""

    count: int = 0
    total: int = 0
    low: int | None = None
    high: int | None = None

    @classmethod
    def of(cls, values: Iterable[int | None]) -> Tally:
        """The same tally from plain values (unscored `None` values are left out)."""
        present = [v for v in values if v is not None]
        if not present:
            return cls()
        return cls(count=len(present), total=sum(present), low=min(present), high=max(present))


@dataclass(frozen=True)
class CriterionScore:
    criterion: CriterionInfo
    tally: Tally
    agreed: int | None = None

    @property
    def mean(self) -> Fraction | None:
        if not self.tally.count:
            return None
        return Fraction(self.tally.total, self.tally.count)

    @property
    def spread(self) -> int | None:
        if self.tally.low is None or self.tally.high is None:
            return None
        return self.tally.high - self.tally.low

    @property
    def used(self) -> Fraction | None:
        """The value that counts: the agreed score, else the mean, else nothing (missing)."""
        return Fraction(self.agreed) if self.agreed is not None else self.mean

    @property
    def missing(self) -> bool:
        return self.used is None and self.criterion.weight > 0

    @property
    def disagreement(self) -> bool:
        return self.spread is not None and self.spread >= DISAGREEMENT_SPREAD


@dataclass(frozen=True)
class ApplicationResult:
    application_id: int
    criteria: tuple[CriterionScore, ...]
    total: Fraction
    complete: bool
    scorers: int = 0
    excluded: int = 0

    @property
    def missing(self) -> tuple[CriterionScore, ...]:
        return tuple(c for c in self.criteria if c.missing)

    @property
    def disagreements(self) -> tuple[CriterionScore, ...]:
        return tuple(c for c in self.criteria if c.disagreement)

    @property
    def disagreement(self) -> bool:
        return bool(self.disagreements)


def score_application(
    application_id: int,
    criteria: Sequence[CriterionInfo],
    tallies: Mapping[int, Tally],
    agreed: Mapping[int, int] | None = None,
    *,
    scorers: int = 0,
    excluded: int = 0,
) -> ApplicationResult:
    """One application's result from its tallies (by criterion id) and agreed scores."""
    agreed = agreed or {}
    scores = tuple(
        CriterionScore(criterion=c, tally=tallies.get(c.id, Tally()), agreed=agreed.get(c.id))
        for c in criteria
    )
    # Exact sum of weight x (agreed, or SUM/COUNT) in integers: one Fraction per
    # application, not one per criterion (this runs for every application of a round).
    numerator, denominator, complete = 0, 1, True
    for score in scores:
        weight = score.criterion.weight
        if score.agreed is not None:
            top, bottom = weight * score.agreed, 1
        elif score.tally.count:
            top, bottom = weight * score.tally.total, score.tally.count
        else:
            complete = complete and weight <= 0
            continue
        if bottom == denominator:
            numerator += top
        else:
            numerator, denominator = numerator * bottom + top * denominator, denominator * bottom
    return ApplicationResult(
        application_id=application_id,
        criteria=scores,
        total=Fraction(numerator, denominator),
        complete=complete,
        scorers=scorers,
        excluded=excluded,
    )


@dataclass(frozen=True)
class Ranked:
    result: ApplicationResult
    rank: int | None  # None: incomplete, not ranked
    tied: bool = False

    @property
    def label(self) -> str:
        if self.rank is None:
            return "Not ranked"
        return f"={self.rank}" if self.tied else str(self.rank)


def rank_results(
    results: Iterable[ApplicationResult], order: Mapping[int, int] | None = None
) -> list[Ranked]:
    """Complete results by total (highest first) with shared ranks for equal totals,
    then the incomplete ones (unranked) by their partial total. `order` (application
    id -> position, e.g. the panel number) only orders equal totals on the page."""
    order = order or {}
    results = list(results)
    # Exact integer sort keys: every total scaled to one common denominator (sorting
    # and grouping by Fraction is several times slower, and this runs per page view).
    scale = math.lcm(*(r.total.denominator for r in results)) if results else 1
    exact = {r.application_id: r.total.numerator * (scale // r.total.denominator) for r in results}

    def key(r: ApplicationResult) -> tuple:
        app = r.application_id
        return (-exact[app], order.get(app, app), app)

    complete = sorted((r for r in results if r.complete), key=key)
    incomplete = sorted((r for r in results if not r.complete), key=key)
    ranked: list[Ranked] = []
    counts: dict[int, int] = {}
    for r in complete:
        counts[exact[r.application_id]] = counts.get(exact[r.application_id], 0) + 1
    rank = 0
    previous: int | None = None
    for position, r in enumerate(complete, start=1):
        value = exact[r.application_id]
        if value != previous:
            rank, previous = position, value
        ranked.append(Ranked(result=r, rank=rank, tied=counts[value] > 1))
    ranked.extend(Ranked(result=r, rank=None) for r in incomplete)
    return ranked


@dataclass(frozen=True)
class Proposal:
    method: ShortlistMethod
    entries: tuple[Ranked, ...]
    top_n: int | None = None
    threshold: Fraction | None = None
    tied_at_cut: bool = False
    ranked_count: int = 0
    unranked_count: int = 0
    notes: tuple[str, ...] = field(default=())


def propose_top_n(ranked: Sequence[Ranked], n: int) -> Proposal:
    """Everyone ranked N or better: a tie at the Nth place takes in all tied at it."""
    if not 1 <= n <= MAX_TOP_N:
        raise DomainError(f"Choose a number from 1 to {MAX_TOP_N}.", field="top_n")
    complete = [r for r in ranked if r.rank is not None]
    entries = tuple(r for r in complete if r.rank <= n)  # type: ignore[operator]
    tied = len(entries) > n
    notes: list[str] = []
    if tied:
        cut = entries[-1]
        notes.append(
            f"Applications tied at place {cut.label} share the last place: all "
            f"{sum(1 for r in entries if r.rank == cut.rank)} are included, so the "
            f"proposal has {len(entries)} applications, not {n}."
        )
    if len(complete) < n:
        notes.append(f"Only {len(complete)} applications have a complete score.")
    return _proposal(ShortlistMethod.top_n, ranked, entries, notes, top_n=n, tied=tied)


def propose_threshold(ranked: Sequence[Ranked], threshold: Fraction) -> Proposal:
    """Everyone whose complete total is at or above the threshold (equal totals go together)."""
    entries = tuple(r for r in ranked if r.rank is not None and r.result.total >= threshold)
    return _proposal(ShortlistMethod.threshold, ranked, entries, [], threshold=threshold)


def _proposal(
    method: ShortlistMethod,
    ranked: Sequence[Ranked],
    entries: tuple[Ranked, ...],
    notes: list[str],
    *,
    top_n: int | None = None,
    threshold: Fraction | None = None,
    tied: bool = False,
) -> Proposal:
    unranked = sum(1 for r in ranked if r.rank is None)
    if unranked:
        notes.append(
            f"{unranked} application{'s are' if unranked != 1 else ' is'} not ranked because "
            "a criterion has no score; record an agreed score to include "
            f"{'them' if unranked != 1 else 'it'}."
        )
    if any(r.tied for r in entries):
        notes.append('Equal totals share a rank, shown like "=3".')
    return Proposal(
        method=method,
        entries=entries,
        top_n=top_n,
        threshold=threshold,
        tied_at_cut=tied,
        ranked_count=len(ranked) - unranked,
        unranked_count=unranked,
        notes=tuple(notes),
    )


def max_total(criteria: Sequence[CriterionInfo], scale_max: int) -> int:
    return scale_max * sum(c.weight for c in criteria)


def parse_top_n(text: str) -> int:
    value = (text or "").strip()
    if not _WHOLE.fullmatch(value) or not 1 <= int(value) <= MAX_TOP_N:
        raise DomainError(
            f"Enter how many applications to shortlist, as a whole number from 1 to {MAX_TOP_N}.",
            field="top_n",
        )
    return int(value)


def parse_threshold(text: str, highest: int) -> Fraction:
    """A decimal such as "14" or "14.5" (at most two decimal places), from 0 to `highest`."""
    value = (text or "").strip()
    message = (
        f"Enter the lowest total to shortlist, a number from 0 to {highest} "
        "with at most two decimal places."
    )
    if not _DECIMAL.fullmatch(value):
        raise DomainError(message, field="threshold")
    number = Decimal(value)
    if not 0 <= number <= highest:
        raise DomainError(message, field="threshold")
    return Fraction(number)


def parse_id(text: str) -> int | None:
    """A record id typed into a form, or None if it is not a plain number."""
    value = (text or "").strip()
    return int(value) if re.fullmatch(r"[0-9]{1,10}", value) else None


def parse_score(text: str, scale_max: int, *, field: str = "value") -> int:
    value = (text or "").strip()
    if not _WHOLE.fullmatch(value) or not 0 <= int(value) <= scale_max:
        raise DomainError(f"Enter a whole number from 0 to {scale_max}.", field=field)
    return int(value)


def show(value: Fraction | int | None) -> str:
    """A score as people read it: up to two decimal places ("2.67", "3", "—" for none)."""
    if value is None:
        return "—"
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
