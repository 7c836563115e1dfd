"""Request and response bodies of the JSON API.

Limits are stated on the types (msgspec `Meta`), so a hostile body is refused with a
400 problem naming the field before any handler runs, and the OpenAPI schema shows
them. The limits are the domain's own; the domain still checks what only it can
judge (a blank title, a slug in use, criteria locked).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from portal.domain.rounds.entry import MAX_REASON
from portal.domain.rounds.phase import MAX_GRACE_MINUTES, RoundPhase, RoundStage
from portal.domain.seats.editing import SLUG_MAX, SUMMARY_MAX, TEXT_MAX, TITLE_MAX
from portal.domain.seats.parts import MAX_ITEMS, MAX_WEIGHT, MAX_WORD_LIMIT
from portal.domain.timerules import DEFAULT_ZONE

Title = Annotated[str, Meta(max_length=TITLE_MAX, description="Shown as the seat's heading.")]
Slug = Annotated[
    str,
    Meta(
        max_length=SLUG_MAX,
        description="Web address name; made from the title when empty.",
        examples=["racial-equity-lead"],
    ),
]
Summary = Annotated[str, Meta(max_length=SUMMARY_MAX)]
LongText = Annotated[str, Meta(max_length=TEXT_MAX)]
Weight = Annotated[int, Meta(ge=1, le=MAX_WEIGHT)]
WordLimit = Annotated[int, Meta(ge=1, le=MAX_WORD_LIMIT)]
ZoneName = Annotated[
    str, Meta(max_length=64, description="IANA time zone of the round.", examples=[DEFAULT_ZONE])
]
Reason = Annotated[str, Meta(max_length=MAX_REASON, description="Kept in the audit log.")]
Instant = Annotated[
    datetime,
    Meta(
        tz=True,
        description="An ISO 8601 instant with its offset.",
        examples=["2024-11-18T10:00:00Z"],
    ),
]


class LocalTime(Struct, forbid_unknown_fields=True):
    """A wall-clock time in the round's time zone. A time that does not exist, or happens
    twice, at a clock change is refused."""

    date: Annotated[
        str, Meta(max_length=10, description="Year-month-day.", examples=["2024-11-18"])
    ]
    time: Annotated[
        str, Meta(max_length=8, description="24-hour hours:minutes.", examples=["10:00"])
    ]


TimeInput = Annotated[
    Instant | LocalTime,
    Meta(
        description='Either an instant with its offset ("2024-11-18T10:00:00Z"), or '
        '{"date": "2024-11-18", "time": "10:00"} on the wall clock of the round\'s time zone.'
    ),
]


class CriterionIn(Struct, forbid_unknown_fields=True):
    title: Title
    guidance: LongText = ""
    weight: Weight = 1


class QuestionIn(Struct, forbid_unknown_fields=True):
    prompt: Summary
    word_limit: WordLimit = 300
    required: bool = True


class SeatIn(Struct, forbid_unknown_fields=True):
    """A whole seat: for POST, and for PUT (fields left out become empty)."""

    title: Title
    slug: Slug = ""
    summary: Summary = ""
    description: LongText = ""
    eligibility: LongText = ""
    represents: Annotated[
        str, Meta(max_length=TEXT_MAX, description="Who or what the seat represents.")
    ] = ""
    time_commitment: LongText = ""
    remuneration: LongText = ""
    location: LongText = ""
    how_to_apply: LongText = ""


class SeatCreate(SeatIn, forbid_unknown_fields=True):
    criteria: Annotated[list[CriterionIn], Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=list
    )
    questions: Annotated[list[QuestionIn], Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=list
    )
    published: bool = False


class SeatPatch(Struct, forbid_unknown_fields=True):
    """Only the fields sent change."""

    title: Title | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    summary: Summary | UnsetType = UNSET
    description: LongText | UnsetType = UNSET
    eligibility: LongText | UnsetType = UNSET
    represents: LongText | UnsetType = UNSET
    time_commitment: LongText | UnsetType = UNSET
    remuneration: LongText | UnsetType = UNSET
    location: LongText | UnsetType = UNSET
    how_to_apply: LongText | UnsetType = UNSET


class RoundCreate(Struct, forbid_unknown_fields=True):
    opens: TimeInput
    closes: TimeInput
    timezone: ZoneName = DEFAULT_ZONE
    grace_minutes: Annotated[
        int,
        Meta(
            ge=0,
            le=MAX_GRACE_MINUTES,
            description="Minutes after closing during which in-flight submissions still count; never shown to applicants.",
        ),
    ] = 10
    anonymised: bool = True


class RoundExtend(Struct, forbid_unknown_fields=True):
    closes: TimeInput
    reason: Reason


# Responses. Instants are UTC ("...Z"); `*_text` says them in the round's zone.


class CriterionOut(Struct):
    id: int
    title: str
    guidance: str
    weight: int


class QuestionOut(Struct):
    id: int
    prompt: str
    word_limit: int
    required: bool


class RoundOut(Struct):
    id: int
    seat_id: int
    timezone: str
    opens_at: datetime
    closes_at: datetime
    opens_text: Annotated[str, Meta(examples=["9am on Monday 4 November 2024 (UK time)"])]
    closes_text: Annotated[str, Meta(examples=["10am on Monday 18 November 2024 (UK time)"])]
    remaining_text: Annotated[str, Meta(examples=["3 days 4 hours left", "closed"])]
    phase: RoundPhase
    stage: RoundStage
    anonymised: bool
    url: str


class RoundDetail(RoundOut):
    seat_slug: str
    seat_title: str
    seat_url: str


class SeatSummary(Struct):
    id: int
    slug: str
    title: str
    summary: str
    phase: RoundPhase | None
    round: RoundOut | None
    url: str
    page_url: str


class SeatOut(Struct):
    id: int
    slug: str
    title: str
    summary: str
    description: str
    eligibility: str
    represents: str
    time_commitment: str
    remuneration: str
    location: str
    how_to_apply: str
    published: bool
    updated_at: datetime
    phase: RoundPhase | None
    round: RoundOut | None
    criteria: list[CriterionOut]
    questions: list[QuestionOut]
    rounds: list[RoundOut]
    url: str
    page_url: str


class ProblemError(Struct):
    key: Annotated[
        str,
        Meta(
            description="The field, e.g. `title` or `criteria[0].weight`; empty for the whole body."
        ),
    ]
    message: str


class Problem(Struct):
    """RFC 9457 problem details; `errors` lists each field that was not right."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[ProblemError] = msgspec.field(default_factory=list)
    field: str | None = None
