"""Seats as admins write them: validation, creating, changing and publishing a seat."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from portal.domain.audit import Actor, record_event
from portal.domain.errors import NotFound, ValidationErrors, ensure_record_id
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Seat

TITLE_MAX = 200


TEXT_MAX = 20_000


SUMMARY_MAX = 1_000


SLUG_MAX = 120


@dataclass
class SeatInput:
    title: str = ""
    slug: str = ""
    summary: str = ""
    description: str = ""
    eligibility: str = ""
    represents: str = ""
    time_commitment: str = ""
    remuneration: str = ""
    location: str = ""
    how_to_apply: str = ""


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:SLUG_MAX].strip("-")


def clean_field(value: Any) -> str:
    # NUL bytes are refused by PostgreSQL and have no place in text; CR LF becomes LF.
    return str(value or "").replace("\x00", "").replace("\r\n", "\n").strip()


def clean_seat(data: SeatInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    values = {f.name: clean_field(getattr(data, f.name)) for f in fields(SeatInput)}
    if not values["title"]:
        errors["title"] = "Enter a title for the seat."
    elif len(values["title"]) > TITLE_MAX:
        errors["title"] = f"Keep the title under {TITLE_MAX} characters."
    values["slug"] = slugify(values["slug"] or values["title"])
    if values["title"] and not values["slug"]:
        errors["slug"] = "Enter a web address name using letters and numbers."
    if len(values["summary"]) > SUMMARY_MAX:
        errors["summary"] = f"Keep the summary under {SUMMARY_MAX} characters."
    for name in (
        "description",
        "eligibility",
        "represents",
        "time_commitment",
        "remuneration",
        "location",
        "how_to_apply",
    ):
        if len(values[name]) > TEXT_MAX:
            errors[name] = f"Keep this under {TEXT_MAX:,} characters."
    if errors:
        raise ValidationErrors(errors=errors)
    return values


def whole_number(
    value: int | str, name: str, label: str, low: int, high: int, errors: dict[str, str]
) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        errors[name] = f"{label} must be a whole number from {low} to {high}."
        return low
    if not low <= number <= high:
        errors[name] = f"{label} must be from {low} to {high}."
    return number


async def get_seat(seat_id: int) -> dict[str, Any]:
    ensure_record_id(seat_id, "There is no such seat.")
    row = await Seat.select().where(Seat.id == seat_id).first()
    if row is None:
        raise NotFound("There is no such seat.")
    return row


async def _ensure_unique_slug(slug: str, seat_id: int | None) -> None:
    query = Seat.exists().where(Seat.slug == slug)
    if seat_id is not None:
        query = Seat.exists().where((Seat.slug == slug) & (Seat.id != seat_id))
    if await query:
        raise ValidationErrors(errors={"slug": "Another seat already uses that web address name."})


async def create_seat(data: SeatInput, actor: Actor, now: datetime) -> int:
    values = clean_seat(data)
    await _ensure_unique_slug(values["slug"], None)
    now = ensure_aware_utc(now)
    rows = await Seat.insert(
        Seat(**values, published=False, created_at=now, updated_at=now)
    ).returning(Seat.id)
    seat_id = rows[0]["id"]
    await record_event(
        actor, "seat.created", "seat", seat_id, now, detail={"title": values["title"]}
    )
    return seat_id


async def update_seat(seat_id: int, data: SeatInput, actor: Actor, now: datetime) -> None:
    await get_seat(seat_id)
    values = clean_seat(data)
    await _ensure_unique_slug(values["slug"], seat_id)
    await Seat.update(
        {**{getattr(Seat, k): v for k, v in values.items()}, Seat.updated_at: ensure_aware_utc(now)}
    ).where(Seat.id == seat_id)
    await record_event(
        actor, "seat.updated", "seat", seat_id, now, detail={"title": values["title"]}
    )


async def set_published(seat_id: int, published: bool, actor: Actor, now: datetime) -> None:
    await get_seat(seat_id)
    await Seat.update({Seat.published: published, Seat.updated_at: ensure_aware_utc(now)}).where(
        Seat.id == seat_id
    )
    await record_event(
        actor, "seat.published" if published else "seat.unpublished", "seat", seat_id, now
    )
