"""Scoring arithmetic: means, spreads, agreed overrides, weights, missing scores, ranks with
ties, and shortlist proposals (top N with ties at the cut, threshold)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from portal.domain.errors import DomainError
from portal.domain.scoring import arithmetic as sm

A = sm.CriterionInfo(id=1, title="Lived experience", weight=2)
B = sm.CriterionInfo(id=2, title="Leadership", weight=1)
ZERO = sm.CriterionInfo(id=3, title="Unweighted", weight=0)


def result(app_id: int, a: list[int | None], b: list[int | None], agreed=None, criteria=(A, B)):
    tallies = {A.id: sm.Tally.of(a), B.id: sm.Tally.of(b)}
    return sm.score_application(app_id, criteria, tallies, agreed or {})


@pytest.mark.parametrize(
    ("values", "mean", "spread"),
    [
        ([3], Fraction(3), 0),
        ([1, 2, 4], Fraction(7, 3), 3),
        ([2, 2, 2, 2], Fraction(2), 0),
        ([0, 4], Fraction(2), 4),
        ([None, 3, None], Fraction(3), 0),  # unscored values are not zeros
        ([], None, None),
        ([None], None, None),
    ],
)
def test_mean_and_spread(values, mean, spread):
    score = sm.CriterionScore(criterion=A, tally=sm.Tally.of(values))
    assert score.mean == mean
    assert score.spread == spread


@pytest.mark.parametrize(
    ("a", "b", "agreed", "total", "complete"),
    [
        ([3, 3], [2, 4], {}, Fraction(2 * 3 + 1 * 3), True),  # weight x mean
        ([1, 2], [4], {}, Fraction(2 * 3, 2) + 4, True),  # mean 1.5 weighs 3
        ([1, 4], [2], {A.id: 4}, Fraction(2 * 4 + 2), True),  # agreed replaces the mean
        ([], [3], {}, Fraction(3), False),  # missing: incomplete, never silently 0
        ([], [3], {A.id: 0}, Fraction(3), True),  # an agreed 0 is a score, not missing
        ([], [], {}, Fraction(0), False),
        ([4], [], {B.id: 1}, Fraction(9), True),
    ],
)
def test_weighted_total_and_completeness(a, b, agreed, total, complete):
    r = result(1, a, b, agreed)
    assert r.total == total
    assert r.complete is complete
    if not complete:
        assert r.missing


def test_missing_criterion_is_named_and_weight_zero_is_never_missing():
    r = sm.score_application(1, (A, B, ZERO), {A.id: sm.Tally.of([2]), B.id: sm.Tally()}, {})
    assert [m.criterion.title for m in r.missing] == ["Leadership"]
    r = sm.score_application(1, (A, ZERO), {A.id: sm.Tally.of([2])}, {})
    assert r.complete and r.total == 4


@pytest.mark.parametrize(
    ("a", "b", "flag", "which"),
    [
        ([1, 2], [3, 3], False, []),  # spread 1
        ([1, 3], [3, 3], True, ["Lived experience"]),  # spread 2 is disagreement
        ([0, 4], [1, 4], True, ["Lived experience", "Leadership"]),
        ([2], [2], False, []),
    ],
)
def test_disagreement_when_spread_at_least_two(a, b, flag, which):
    r = result(1, a, b)
    assert r.disagreement is flag
    assert [c.criterion.title for c in r.disagreements] == which


def test_disagreement_stays_visible_after_agreed_score():
    r = result(1, [0, 4], [2], {A.id: 2})
    assert r.disagreement and r.criteria[0].agreed == 2 and r.total == 6


def totals(*values):
    """Complete results with these totals (criterion B only, weight 1; A agreed 0)."""
    return [result(i + 1, [], [v], {A.id: 0}) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "labels"),
    [
        ((4, 3, 2), ["1", "2", "3"]),
        ((4, 3, 3, 2), ["1", "=2", "=2", "4"]),
        ((4, 4, 4), ["=1", "=1", "=1"]),
        ((1, 2, 3, 3), ["=1", "=1", "3", "4"]),  # sorted highest first
    ],
)
def test_ranks_share_places_for_equal_totals(values, labels):
    assert [r.label for r in sm.rank_results(totals(*values))] == labels


def test_equal_means_tie_exactly_whatever_the_order_of_scores():
    # 1/3 + 1/3 + 1/3 style sums that floats would not make exactly equal.
    x = sm.score_application(1, (B,), {B.id: sm.Tally.of([1, 1, 2])}, {})
    y = sm.score_application(2, (B,), {B.id: sm.Tally.of([2, 1, 1])}, {})
    ranked = sm.rank_results([x, y])
    assert [r.label for r in ranked] == ["=1", "=1"]


def test_incomplete_results_are_not_ranked_and_come_last():
    ranked = sm.rank_results([*totals(2), result(9, [], [4])])
    assert [(r.result.application_id, r.label) for r in ranked] == [(1, "1"), (9, "Not ranked")]


@pytest.mark.parametrize(
    ("values", "n", "chosen", "tied_at_cut"),
    [
        ((5, 4, 3, 2), 2, [1, 2], False),
        ((5, 4, 4, 2), 2, [1, 2, 3], True),  # tie at the Nth place: all tied included
        ((5, 4, 4, 2), 3, [1, 2, 3], False),  # the tie is inside the list
        ((5, 5, 5, 1), 1, [1, 2, 3], True),
        ((5, 4), 5, [1, 2], False),  # fewer than N ranked: everyone
    ],
)
def test_top_n_includes_every_tie_at_the_cut(values, n, chosen, tied_at_cut):
    proposal = sm.propose_top_n(sm.rank_results(totals(*values)), n)
    assert [r.result.application_id for r in proposal.entries] == chosen
    assert proposal.tied_at_cut is tied_at_cut
    if tied_at_cut:
        assert any("share the last place" in note for note in proposal.notes)


def test_top_n_never_takes_incomplete_and_says_why():
    ranked = sm.rank_results([*totals(3, 2), result(9, [], [4])])
    proposal = sm.propose_top_n(ranked, 3)
    assert [r.result.application_id for r in proposal.entries] == [1, 2]
    assert proposal.unranked_count == 1
    assert any("not ranked" in note for note in proposal.notes)


@pytest.mark.parametrize(
    ("values", "threshold", "chosen"),
    [
        ((5, 4, 3), Fraction(4), [1, 2]),  # at or above
        ((5, 4, 4, 3), Fraction(4), [1, 2, 3]),
        ((5, 4), Fraction(9, 2), [1]),
        ((2, 1), Fraction(3), []),
        ((2, 1), Fraction(0), [1, 2]),
    ],
)
def test_threshold_takes_everyone_at_or_above(values, threshold, chosen):
    proposal = sm.propose_threshold(sm.rank_results(totals(*values)), threshold)
    assert [r.result.application_id for r in proposal.entries] == chosen


@pytest.mark.parametrize("bad", ["", "0", "-1", "1.5", "abc", "10001", "9" * 30, " ", "1e3"])
def test_top_n_parse_refuses(bad):
    with pytest.raises(DomainError) as err:
        sm.parse_top_n(bad)
    assert err.value.field == "top_n"


@pytest.mark.parametrize(
    ("text", "value"), [("14", Fraction(14)), ("14.5", Fraction(29, 2)), (" 0 ", Fraction(0))]
)
def test_threshold_parse(text, value):
    assert sm.parse_threshold(text, 24) == value


@pytest.mark.parametrize("bad", ["", "-1", "25", "1.234", "NaN", "inf", "abc", "1" * 40, "1e1"])
def test_threshold_parse_refuses(bad):
    with pytest.raises(DomainError) as err:
        sm.parse_threshold(bad, 24)
    assert err.value.field == "threshold"


@pytest.mark.parametrize("bad", ["", "-1", "5", "2.5", "x", "99999", "٣"])
def test_score_parse_refuses(bad):
    with pytest.raises(DomainError):
        sm.parse_score(bad, 4)


@pytest.mark.parametrize(
    ("value", "text"),
    [(Fraction(7, 3), "2.33"), (Fraction(3), "3"), (Fraction(5, 2), "2.5"), (None, "—")],
)
def test_show(value, text):
    assert sm.show(value) == text


def test_max_total():
    assert sm.max_total((A, B), 4) == 12
