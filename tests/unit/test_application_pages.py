"""The review page's list of what is left to do is the submit rule's own list."""

from __future__ import annotations

from datetime import UTC, datetime

from portal.domain.applications.queries import missing_fields
from portal.domain.applications.records import ApplicationView, Deadline, missing_parts


def _view(**parts) -> ApplicationView:
    return ApplicationView(
        application={"id": 1, "status": "draft"},
        round={"id": 1},
        deadline=Deadline(datetime(2030, 1, 1, tzinfo=UTC), 10, "Europe/London", False),
        questions=[
            {"id": 7, "required": True, "word_limit": 3},
            {"id": 8, "required": False, "word_limit": 3},
            {"id": 9, "required": True, "word_limit": 3},
        ],
        criteria=[{"id": 3, "title": "Lived experience"}, {"id": 4, "title": "Reach"}],
        **parts,
    )


def test_missing_fields_match_missing_parts_when_empty():
    view = _view()
    assert [message for _, message in missing_fields(view)] == missing_parts(view)
    assert [field for field, _ in missing_fields(view)] == [
        "question_7",
        "question_9",
        "criterion_3",
        "criterion_4",
        "cv",
    ]


def test_missing_fields_match_missing_parts_when_partly_done():
    view = _view(answers={7: "yes", 9: "  "}, statements={4: "done"}, documents={"cv": {}})
    assert [message for _, message in missing_fields(view)] == missing_parts(view)
    assert [field for field, _ in missing_fields(view)] == ["question_9", "criterion_3"]


def test_answers_over_their_limit_are_listed_in_page_order_and_block_submit():
    """Issue 10: a draft keeps an over-limit answer; submitting waits until it is shortened."""
    view = _view(
        answers={7: "one two three four", 8: "a b c d e", 9: "fine"},
        statements={3: "word " * 501, 4: "done"},
        documents={"cv": {}},
    )
    assert missing_fields(view) == [
        ("question_7", "Your answer to question 1 has 4 words; the limit is 3."),
        ("question_8", "Your answer to question 2 has 5 words; the limit is 3."),
        ("criterion_3", "Your statement for “Lived experience” has 501 words; the limit is 500."),
    ]
    assert missing_parts(view) == [message for _, message in missing_fields(view)]
