"""Composite uniqueness for applications, as raw `CREATE UNIQUE INDEX`.

Piccolo's `Unique([...])` fails on SQLite; plain SQL indexes work on both engines.
A separate migration because Piccolo runs a manager's raw steps before its tables
are created (the tables come from the migration before this one).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T13:30:00:000002"
VERSION = "1.38.0"
DESCRIPTION = "Applications: one per applicant per round, one part of each kind"

# One application per applicant per round; one answer per question, one statement
# per criterion, one document per kind; one submission row per version.
INDEXES = {
    "application_applicant_round_uniq": "application (applicant, round)",
    "answer_application_question_uniq": "answer (application, question)",
    "statement_application_criterion_uniq": "statement (application, criterion)",
    "document_application_kind_uniq": "document (application, kind)",
    "submission_application_version_uniq": "submission (application, version)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def create_indexes():
        # The engine this migration runs on (portal.db.bind points the finder at it).
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
