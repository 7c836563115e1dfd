"""Who on a panel may see what: the one place the panel's access rules live.

Every panel read goes through these functions, and each refusal is `NotFound` (404):
a member of round X learns nothing about round Y, a conflicted member nothing about
that application. In an anonymised round the panel learns who applied only for the
applications on the confirmed shortlist, and only once it is confirmed; every other
application stays "Applicant N" to the panel for ever (`revealed_applications`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from portal.domain.errors import Conflict, NotFound, ensure_record_id
from portal.domain.statuses import ApplicationStatus
from portal.tables import (
    Application,
    PanelConflict,
    PanelMember,
    PanelOrganisation,
    Round,
    ShortlistEntry,
)


class PanelRole(enum.StrEnum):
    member = "member"
    chair = "chair"


class ConflictKind(enum.StrEnum):
    organisational = "organisational"
    personal = "personal"
    financial = "financial"
    other = "other"


class ConflictDecision(enum.StrEnum):
    excluded = "excluded"  # the member neither sees nor scores the application
    minor = "minor"  # the chair decided it does not matter (with a reason)


# Stages in which identities are shown to the panel even in an anonymised round.
IDENTIFIED_STAGES = frozenset({"shortlisted", "decided", "archived"})
# Application statuses that reach a panel (drafts and withdrawals never do).
PANEL_STATUSES = tuple(
    s.value
    for s in (
        ApplicationStatus.submitted,
        ApplicationStatus.shortlisted,
        ApplicationStatus.unsuccessful,
        ApplicationStatus.appointed,
    )
)

NOT_FOUND = "There is no such panel page, or it is not yours to see."


def normalise_organisation(name: str) -> str:
    """ "The  Howard League " and "the howard league" are the same organisation."""
    return re.sub(r"\s+", " ", (name or "").strip()).casefold()


@dataclass(frozen=True)
class Revealed:
    """Whose identity the panel may see in a round: everyone's (a round that is not
    anonymised), or only the confirmed shortlist's."""

    everyone: bool
    shortlisted: frozenset[int] = frozenset()

    def __contains__(self, application_id: object) -> bool:
        return self.everyone or application_id in self.shortlisted


async def revealed_applications(round_row: dict[str, Any]) -> Revealed:
    if not round_row["anonymised"]:
        return Revealed(everyone=True)
    if round_row["stage"] not in IDENTIFIED_STAGES:
        return Revealed(everyone=False)
    rows = await ShortlistEntry.select(ShortlistEntry.application).where(
        (ShortlistEntry.shortlist.round == round_row["id"])
        & ShortlistEntry.shortlist.confirmed_at.is_not_null()
    )
    return Revealed(everyone=False, shortlisted=frozenset(r["application"] for r in rows))


async def membership(user_id: int, round_id: int) -> dict[str, Any]:
    """The user's live, accepted membership of the round, or NotFound."""
    ensure_record_id(round_id, NOT_FOUND)
    row = (
        await PanelMember.select()
        .where(
            (PanelMember.user == user_id)
            & (PanelMember.round == round_id)
            & PanelMember.accepted_at.is_not_null()
            & PanelMember.removed_at.is_null()
        )
        .first()
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def is_ready(member: dict[str, Any]) -> bool:
    """Confidentiality confirmed and organisations declared: may see applications."""
    return member["confidentiality_at"] is not None and member["declarations_at"] is not None


class NotReady(Conflict):
    """The member must confirm confidentiality and declare conflicts first."""


def ensure_ready(member: dict[str, Any]) -> None:
    if not is_ready(member):
        raise NotReady(
            "Confirm confidentiality and declare your conflicts before you see any application."
        )


def ensure_chair(member: dict[str, Any]) -> None:
    if member["role"] != PanelRole.chair.value:
        raise NotFound(NOT_FOUND)


async def organisation_matches(member_id: int, round_id: int) -> set[int]:
    """Applications in the round from an organisation the member declared a connection to."""
    declared = {
        r["normalised"]
        for r in await PanelOrganisation.select(PanelOrganisation.normalised).where(
            PanelOrganisation.member == member_id
        )
    }
    if not declared:
        return set()
    rows = await Application.select(
        Application.id, Application.applicant.organisation.as_alias("organisation")
    ).where((Application.round == round_id) & Application.status.is_in(list(PANEL_STATUSES)))
    return {r["id"] for r in rows if normalise_organisation(r["organisation"]) in declared}


async def conflicted_application_ids(member: dict[str, Any]) -> set[int]:
    """Applications hidden from this member: declared conflicts the chair has not ruled
    minor, and applications from organisations the member is connected to (unless a
    conflict row for it was ruled minor)."""
    rows = await PanelConflict.select(PanelConflict.application, PanelConflict.decision).where(
        PanelConflict.member == member["id"]
    )
    minor = {r["application"] for r in rows if r["decision"] == ConflictDecision.minor.value}
    excluded = {r["application"] for r in rows if r["decision"] != ConflictDecision.minor.value}
    return excluded | (await organisation_matches(member["id"], member["round"]) - minor)


async def panel_round(round_id: int) -> dict[str, Any]:
    row = await Round.select().where(Round.id == round_id).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


async def visible_application(member: dict[str, Any], application_id: int) -> dict[str, Any]:
    """An application of the member's round that the member may see, or NotFound.

    Refused alike: another round's application, a draft or withdrawn one, one the
    member is conflicted on, and any application before the member is ready.
    """
    ensure_record_id(application_id, NOT_FOUND)
    if not is_ready(member):
        raise NotFound(NOT_FOUND)
    row = (
        await Application.select(
            Application.id,
            Application.round,
            Application.status,
            Application.panel_number,
            Application.reference,
            Application.received_at,
        )
        .where(
            (Application.id == application_id)
            & (Application.round == member["round"])
            & Application.status.is_in(list(PANEL_STATUSES))
        )
        .first()
    )
    if row is None or application_id in await conflicted_application_ids(member):
        raise NotFound(NOT_FOUND)
    return row


async def numbered_application(round_id: int, number: int) -> int:
    """The application the round's panel calls "Applicant {number}" (panel URLs carry the
    number, never the application's id, which shows the order people started applying).
    Whether the member may see it is still `visible_application`'s to decide."""
    ensure_record_id(number, NOT_FOUND)
    row = (
        await Application.select(Application.id)
        .where(
            (Application.round == round_id)
            & (Application.panel_number == number)
            & Application.status.is_in(list(PANEL_STATUSES))
        )
        .first()
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    return row["id"]


def panel_label(application: dict[str, Any]) -> str:
    """What an anonymised panel calls an application: "Applicant 7"."""
    number = application.get("panel_number")
    return f"Applicant {number}" if number else "Applicant"
