"""The round's applications as CSV for admins, spreadsheet-safe and audited."""

from __future__ import annotations

from datetime import datetime

from portal.domain.applications.admin_queries import RoundApplications, round_applications
from portal.domain.audit import Actor, record_event
from portal.domain.csv_export import csv_bytes
from portal.domain.timerules import (
    ensure_aware_utc,
    format_instant,
)

CSV_HEADER = (
    "Reference",
    "Status",
    "Applicant name",
    "Email",
    "Organisation",
    "Received (UTC)",
    "Received (local)",
    "In grace",
    "Extension",
)


def _utc_text(value: datetime | None) -> str:
    return ensure_aware_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _local_text(value: datetime | None, zone_name: str) -> str:
    return format_instant(value, zone_name) if value else ""


def applications_csv(listing: RoundApplications) -> bytes:
    zone_name = listing.zone_name
    rows = (
        (
            a.reference,
            a.status,
            a.name,
            a.email,
            a.organisation,
            _utc_text(a.received_at),
            _local_text(a.received_at, zone_name),
            "yes" if a.in_grace else "no",
            _local_text(a.extension_closes_at, zone_name),
        )
        for a in listing.applications
    )
    return csv_bytes(CSV_HEADER, rows)


async def export_round_applications(
    round_id: int, actor: Actor, now: datetime
) -> tuple[RoundApplications, bytes]:
    """The round's CSV, with an audit event: the file carries personal data out of the portal."""
    listing = await round_applications(round_id)
    data = applications_csv(listing)
    await record_event(
        actor,
        "applications.exported",
        "round",
        round_id,
        now,
        round_id=round_id,
        detail={"rows": len(listing.applications)},
    )
    return listing, data
