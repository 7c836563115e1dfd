"""Applicant accounts (issue 3): profile columns on the user, and single-use account tokens.

Written by hand: an auto migration would also sweep in other work in progress.
New columns all have defaults (or are nullable), so existing admins stay valid.
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class User(Table, tablename="portal_user", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-11-25T13:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "Applicant accounts: profile columns and account tokens"


def _params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "default": "",
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(overrides)
    return params


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    def user_column(name: str, column_class: type, **params: Any) -> None:
        manager.add_column(
            table_class_name="User",
            tablename="portal_user",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=_params(**params),
            schema=None,
        )

    user_column("organisation", Varchar, length=200)
    user_column("job_title", Varchar, length=200)
    user_column("phone", Varchar, length=40)
    user_column("adjustments", Text, secret=True)
    user_column("email_verified_at", Timestamptz, default=None, null=True)

    manager.add_table(class_name="AccountToken", tablename="account_token", schema=None, columns=None)

    def token_column(name: str, column_class: type, **params: Any) -> None:
        manager.add_column(
            table_class_name="AccountToken",
            tablename="account_token",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=_params(**params),
            schema=None,
        )

    token_column(
        "user", ForeignKey,
        references=User, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade, target_column=None,
        index=True, default=None,
    )
    token_column("purpose", Varchar, length=10)
    token_column("token_hash", Varchar, length=64, unique=True)
    token_column("nonce_hash", Varchar, length=64, default=None, null=True)
    token_column("created_at", Timestamptz, default=TimestamptzNow())
    token_column("expires_at", Timestamptz, default=TimestamptzNow())
    token_column("used_at", Timestamptz, default=None, null=True)

    return manager
