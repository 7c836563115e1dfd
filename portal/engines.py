"""Database engines from the settings: a SQLite file (the embedded default) or PostgreSQL.

Kept apart from `portal.db` so Piccolo's configuration module (`portal.piccolo_conf`) can
build its engine without importing the transaction helpers, which import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from portal.settings import Settings

SQLITE_BUSY_TIMEOUT_SECONDS = 30


def engine_for(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    parts = urlsplit(url)
    config: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "database": parts.path.lstrip("/") or "postgres",
        "user": parts.username or "postgres",
    }
    if parts.password:
        config["password"] = parts.password
    return PostgresEngine(config=config)
