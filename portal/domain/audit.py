"""The audit log: append-only rows saying who did what to which record, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.timerules import ensure_aware_utc
from portal.tables import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an API token's owner, or the system."""

    user_id: int | None
    label: str

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, label="system")


async def record_event(
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: int | None,
    now: datetime,
    *,
    round_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await AuditEvent.insert(
        AuditEvent(
            at=ensure_aware_utc(now),
            actor=actor.user_id,
            actor_label=actor.label[:254],
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            round=round_id,
            detail=detail or {},
        )
    )
