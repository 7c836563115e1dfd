"""An application's status, and what may be done to it in each."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from portal.domain.errors import Conflict


class ApplicationStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    withdrawn = "withdrawn"
    shortlisted = "shortlisted"
    unsuccessful = "unsuccessful"
    appointed = "appointed"


EDITABLE = frozenset({ApplicationStatus.draft, ApplicationStatus.submitted})


class ApplicationWithdrawn(Conflict):
    """A write to an application its owner withdrew."""


def ensure_editable(application: Mapping[str, Any]) -> None:
    status = ApplicationStatus(application["status"])
    if status is ApplicationStatus.withdrawn:
        raise ApplicationWithdrawn("You withdrew this application. Start it again to make changes.")
    if status not in EDITABLE:
        raise Conflict("This application can no longer be changed.")
