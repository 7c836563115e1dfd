"""Seat rules: cleaning and validation, web address names, and the criteria lock at its boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.domain.audit import Actor
from portal.domain.errors import NotFound, ValidationErrors, ensure_record_id
from portal.domain.rounds.entry import RoundInput
from portal.domain.rounds.times import create_round
from portal.domain.seats.editing import (
    SeatInput,
    clean_seat,
    create_seat,
    get_seat,
    slugify,
    update_seat,
)
from portal.domain.seats.parts import (
    CRITERIA_LOCKED_REASON,
    CriteriaLocked,
    CriterionInput,
    QuestionInput,
    add_criterion,
    add_question,
    clean_criterion,
    clean_question,
    criteria_locked,
    remove_criterion,
)
from portal.tables import Criterion, Seat
from tests.factories import run, write

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ACTOR = Actor(None, "test")


# ---- Cleaning ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,slug",
    [
        ("Racial equity lead", "racial-equity-lead"),
        ("  Café – trustee (North) ", "cafe-trustee-north"),
        ("<script>alert(1)</script>", "script-alert-1-script"),
        ("!!!", ""),
        ("a" * 300, "a" * 120),
    ],
)
def test_slugify_makes_a_web_address_name(text, slug):
    assert slugify(text) == slug


def test_clean_seat_makes_the_slug_from_the_title_and_tidies_text():
    values = clean_seat(
        SeatInput(title="  Youth board member ", description="Line one\r\nLine\x00 two")
    )

    assert values["slug"] == "youth-board-member"
    assert values["title"] == "Youth board member"
    assert values["description"] == "Line one\nLine two"


def test_clean_seat_reports_every_problem_at_once():
    with pytest.raises(ValidationErrors) as caught:
        clean_seat(SeatInput(title="", summary="s" * 1001, location="l" * 20_001))

    assert set(caught.value.errors) == {"title", "summary", "location"}
    assert caught.value.field == "title"
    assert caught.value.status_code == 400


def test_clean_seat_refuses_a_slug_without_letters_or_numbers():
    with pytest.raises(ValidationErrors) as caught:
        clean_seat(SeatInput(title="Fine", slug="%%%"))

    assert "slug" in caught.value.errors


def test_validation_errors_can_be_hashed_like_any_exception():
    error = ValidationErrors(errors={"title": "Enter a title for the seat."})

    assert hash(error) is not None
    assert str(error) == "Enter a title for the seat."


@pytest.mark.parametrize(
    "weight,ok",
    [
        ("3", True),
        (" 10 ", True),
        (7, True),
        ("0", False),
        ("11", False),
        ("abc", False),
        ("", False),
        ("1e3", False),
    ],
)
def test_clean_criterion_weight(weight, ok):
    data = CriterionInput(title="Expertise", weight=weight)
    if ok:
        assert 1 <= clean_criterion(data)["weight"] <= 10
    else:
        with pytest.raises(ValidationErrors) as caught:
            clean_criterion(data, prefix="criterion_")
        assert set(caught.value.errors) == {"criterion_weight"}


def test_clean_question_needs_a_prompt_and_a_sane_word_limit():
    with pytest.raises(ValidationErrors) as caught:
        clean_question(QuestionInput(prompt="  ", word_limit="5001"))

    assert set(caught.value.errors) == {"prompt", "word_limit"}


# ---- Saving -----------------------------------------------------------------------


def test_update_seat_with_bad_input_changes_nothing(settings):
    seat_id = write(lambda: create_seat(SeatInput(title="Original", summary="Kept"), ACTOR, NOW))

    with pytest.raises(ValidationErrors):
        write(lambda: update_seat(seat_id, SeatInput(title="", summary="Lost?"), ACTOR, NOW))

    row = run(Seat.select().where(Seat.id == seat_id).first().run())
    assert (row["title"], row["summary"]) == ("Original", "Kept")


@pytest.mark.parametrize("seat_id", [0, -5, 2**31, 10**30])
def test_impossible_ids_are_not_found_before_any_query(settings, seat_id):
    with pytest.raises(NotFound):
        run(get_seat(seat_id))


def test_ensure_record_id_accepts_real_ids_only():
    assert ensure_record_id(1, "no") == 1
    assert ensure_record_id(2**31 - 1, "no") == 2**31 - 1
    for bad in (0, -1, 2**31, True):
        with pytest.raises(NotFound):
            ensure_record_id(bad, "no")


# ---- The criteria lock ------------------------------------------------------------


def _seat_with_round(opens_at: datetime) -> int:
    async def go() -> int:
        seat_id = await create_seat(SeatInput(title="Locked seat"), ACTOR, NOW - timedelta(days=30))
        await add_criterion(
            seat_id, CriterionInput(title="Expertise"), ACTOR, NOW - timedelta(days=30)
        )
        await create_round(
            seat_id,
            RoundInput.at(opens_at, opens_at + timedelta(days=7)),
            ACTOR,
            NOW - timedelta(days=30),
        )
        return seat_id

    return write(go)


def test_criteria_unlocked_just_before_the_round_opens(settings):
    opens_at = NOW + timedelta(seconds=1)
    seat_id = _seat_with_round(opens_at)

    assert run(criteria_locked(seat_id, NOW)) is False
    write(lambda: add_criterion(seat_id, CriterionInput(title="Added in time"), ACTOR, NOW))


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(days=400)])
def test_criteria_locked_from_the_moment_the_round_opens(settings, after):
    seat_id = _seat_with_round(NOW)

    assert run(criteria_locked(seat_id, NOW + after)) is True
    with pytest.raises(CriteriaLocked) as caught:
        write(lambda: add_criterion(seat_id, CriterionInput(title="Too late"), ACTOR, NOW + after))
    assert caught.value.message == CRITERIA_LOCKED_REASON
    assert caught.value.status_code == 409


def test_lock_is_reported_before_form_mistakes(settings):
    # A locked seat's reason matters more than a typo in a form that can never be saved.
    seat_id = _seat_with_round(NOW - timedelta(days=1))

    with pytest.raises(CriteriaLocked):
        write(lambda: add_criterion(seat_id, CriterionInput(title="", weight="abc"), ACTOR, NOW))
    with pytest.raises(CriteriaLocked):
        write(lambda: add_question(seat_id, QuestionInput(prompt=""), ACTOR, NOW))


def test_locked_criteria_cannot_be_removed(settings):
    seat_id = _seat_with_round(NOW - timedelta(days=1))
    criterion_id = run(Criterion.select(Criterion.id).first().run())["id"]

    with pytest.raises(CriteriaLocked):
        write(lambda: remove_criterion(seat_id, criterion_id, ACTOR, NOW))

    assert run(Criterion.count().run()) == 1


def test_lock_reason_does_not_promise_a_later_round_unlocks():
    assert "new round" not in CRITERIA_LOCKED_REASON
    assert "create a new seat" in CRITERIA_LOCKED_REASON


def test_items_added_after_a_removal_keep_their_order(settings):
    seat_id = write(lambda: create_seat(SeatInput(title="Ordered"), ACTOR, NOW))
    ids = [
        write(lambda t=t: add_criterion(seat_id, CriterionInput(title=t), ACTOR, NOW))
        for t in ("A", "B", "C")
    ]
    write(lambda: remove_criterion(seat_id, ids[1], ACTOR, NOW))

    write(lambda: add_criterion(seat_id, CriterionInput(title="D"), ACTOR, NOW))

    rows = run(
        Criterion.select(Criterion.title, Criterion.position).order_by(Criterion.position).run()
    )
    assert [r["title"] for r in rows] == ["A", "C", "D"]
    assert len({r["position"] for r in rows}) == 3
