"""Accounts: admins through the domain, applicants and panel members as confirmed accounts."""

from __future__ import annotations

from datetime import datetime

from portal import db
from portal.domain.accounts.admins import create_admin
from portal.domain.accounts.credentials import Role, hash_password
from portal.tables import User
from tests.factories.common import now as clock

# The password of every account a builder makes unless told otherwise.
PASSWORD = "a long enough test password"
_password_hash: str | None = None


def password_hash() -> str:
    """PASSWORD hashed once per process (cheap under PORTAL_ENV=test, see conftest)."""
    global _password_hash
    if _password_hash is None:
        _password_hash = hash_password(PASSWORD)
    return _password_hash


async def make_admin(
    email: str, name: str, password: str | None = PASSWORD, now: datetime | None = None
) -> int:
    """An admin through `create_admin`, as `portal create-admin` makes one."""
    async with db.write_transaction():
        return await create_admin(email, name, password, now or clock())


async def make_user(
    email: str,
    name: str,
    *,
    role: str = Role.applicant.value,
    password: str | None = PASSWORD,
    verified: bool = True,
    reuse: bool = False,
    now: datetime | None = None,
    **profile: str,
) -> int:
    """A registered account whose address is confirmed; `profile`: organisation,
    job_title, phone, adjustments. `reuse`: an account that already has this address
    is returned as it is.

    Written directly: registering through the domain (`register_applicant`, then
    `verify_email`) queues a confirmation mail and spends a token, which would sit in
    every test's outbox and audit log."""
    async with db.write_transaction():
        if reuse:
            row = await User.select(User.id).where(User.email == email).first()
            if row is not None:
                return row["id"]
        t = now or clock()
        if password is None:
            hashed = None
        else:
            hashed = password_hash() if password == PASSWORD else hash_password(password)
        rows = await User.insert(
            User(
                email=email,
                name=name,
                role=role,
                password_hash=hashed,
                email_verified_at=t if verified else None,
                created_at=t,
                **profile,
            )
        ).returning(User.id)
    return rows[0]["id"]
