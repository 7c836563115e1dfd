"""Panel members: accepted, and (when ready) declared through the domain."""

from __future__ import annotations

from datetime import datetime, timedelta

from portal import db
from portal.domain.accounts.credentials import hash_token
from portal.domain.panels.access import PanelRole
from portal.domain.panels.declarations import make_declarations
from portal.tables import PanelMember
from tests.factories.accounts import PASSWORD, make_user
from tests.factories.common import now as clock
from tests.factories.rounds import RoundSetup


async def add_panel_member(
    setup: RoundSetup,
    *,
    email: str,
    name: str,
    role: PanelRole | str = PanelRole.member,
    ready: bool = True,
    organisations: str = "",
    user_id: int | None = None,
    invited_by: int | None = None,
    password: str | None = PASSWORD,
    now: datetime | None = None,
    **profile: str,
) -> tuple[int, int]:
    """A member who has accepted their invitation: (user id, member id). The account is
    `user_id`'s, or the one with this address, made if missing (`password` and `profile`
    as for `make_user`). `ready`: confidentiality confirmed and `organisations` (one a
    line) declared through `make_declarations`, which also withholds the applications
    those organisations make.

    The membership is written directly: the path through `invite_member` and
    `accept_invitation` mails a random single-use link, which would sit in every
    test's outbox."""
    t = now or clock()
    user_id = user_id or await make_user(
        email, name, password=password, reuse=True, now=t, **profile
    )
    async with db.write_transaction():
        rows = await PanelMember.insert(
            PanelMember(
                round=setup.round_id,
                user=user_id,
                role=PanelRole(role).value,
                invited_by=invited_by,
                invited_at=t - timedelta(days=1),
                accepted_at=t,
            )
        ).returning(PanelMember.id)
        member_id = rows[0]["id"]
        if ready:
            member = await PanelMember.select().where(PanelMember.id == member_id).first()
            await make_declarations(member, True, organisations, t)
    return user_id, member_id


async def add_invitation(
    setup: RoundSetup, *, email: str, name: str, token: str, valid_for: timedelta
) -> int:
    """A panel invitation whose link is `token` (for a browser to follow), for a new
    account without a password. Written directly: `invite_member` makes a random token
    and only its mail carries it."""
    user_id = await make_user(email, name, password=None, verified=False)
    async with db.write_transaction():
        rows = await PanelMember.insert(
            PanelMember(
                round=setup.round_id,
                user=user_id,
                token_hash=hash_token(token),
                token_expires_at=clock() + valid_for,
            )
        ).returning(PanelMember.id)
    return rows[0]["id"]
