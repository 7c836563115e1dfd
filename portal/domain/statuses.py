"""The application statuses every area reads (rounds tell drafts of an extension, panels
see submitted applications, reminders go to drafts). Only
`portal.domain.applications.status.transition_application` changes one, along
`STATUS_MOVES`.
"""

from __future__ import annotations

import enum


class ApplicationStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    withdrawn = "withdrawn"
    shortlisted = "shortlisted"
    unsuccessful = "unsuccessful"
    appointed = "appointed"
