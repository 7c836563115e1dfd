"""Ruling a conflict minor: one page and one post, reached by the chair (`/panel/...`)
and by admins (`/admin/rounds/.../panel/...`). Only who may rule, and the addresses
around the form, differ; the rule itself is `portal.domain.panels.conflicts.rule_minor`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from litestar import Request
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.errors import DomainError
from portal.domain.panels.conflicts import MAX_REASON, conflict_for_ruling, rule_minor
from portal.domain.panels.roster import round_for_panel
from portal.web.common import actor_of, form_errors, refusal_status


@dataclass
class RulingForm:
    reason: str = ""


@dataclass(frozen=True)
class RulingPlace:
    """Where a ruling is made from.

    `authorise()` runs inside the transaction and raises NotFound for anyone who may not
    rule here; it returns the ruler's own panel membership (a chair may not clear their
    own conflict), or None for an admin.
    """

    authorise: Callable[[], Awaitable[int | None]]
    action: str
    back: str
    done: str
    admin: bool = False


async def ruling_page(
    place: RulingPlace,
    round_id: int,
    member_id: int,
    application_id: int,
    form: RulingForm,
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    async with read_transaction():
        ruler = await place.authorise()
        round_row = await round_for_panel(round_id)
        conflict = await conflict_for_ruling(
            round_id, member_id, application_id, show_names=place.admin
        )
    return Template(
        "panel/conflict_rule.html",
        context={
            "round": round_row,
            "conflict": conflict,
            "own": ruler is not None and conflict["member"] == ruler,
            "form": form,
            "errors": errors,
            "max_reason": MAX_REASON,
            "action": place.action,
            "back": place.back,
            "admin": place.admin,
        },
        status_code=status_code,
    )


async def submit_ruling(
    request: Request,
    place: RulingPlace,
    round_id: int,
    member_id: int,
    application_id: int,
    data: RulingForm,
) -> Template | Redirect:
    """Rule the conflict minor, audited; a refusal comes back on the form with its reason."""
    try:
        async with write_transaction():
            ruler = await place.authorise()
            await rule_minor(
                round_id,
                member_id,
                application_id,
                data.reason,
                actor_of(request),
                await database_now(),
                ruling_member_id=ruler,
            )
    except DomainError as exc:
        if refusal_status(exc) != 400:
            raise  # not about the form (say, a member not yet ready): its own page
        return await ruling_page(
            place, round_id, member_id, application_id, data, form_errors(exc), 400
        )
    return Redirect(place.done, status_code=303)
