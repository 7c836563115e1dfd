"""The review page's missing list stays in step with the submit rule's."""

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
            {"id": 7, "required": True},
            {"id": 8, "required": False},
            {"id": 9, "required": True},
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
