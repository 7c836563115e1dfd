"""One "not scored" decision per application, as a raw `CREATE UNIQUE INDEX` (works on both
engines; in its own migration because Piccolo runs raw steps before creating tables)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-04T23:23:00:320148"
VERSION = "1.38.0"
DESCRIPTION = "One not-scored decision per application"

INDEXES = {"unscored_decision_application_uniq": "unscored_decision (application)"}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for name, target in INDEXES.items():
            await engine.run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {target}")

    async def drop_indexes():
        engine = engine_finder()
        for name in INDEXES:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
