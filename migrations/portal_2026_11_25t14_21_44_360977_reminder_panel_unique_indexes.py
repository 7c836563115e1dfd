"""Composite uniqueness for reminders and panels, as raw `CREATE UNIQUE INDEX`.

Piccolo's `Unique([...])` fails on SQLite; plain SQL indexes work on both engines.
A separate migration because Piccolo runs a manager's raw steps before its tables
are created (the tables come from the migration before this one).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T14:21:44:360977"
VERSION = "1.38.0"
DESCRIPTION = "Reminders and panels: one row per purpose"

INDEXES = {
    # A reminder is identified by (kind, round, recipient, offset): never created twice.
    "reminder_key_uniq": "reminder (kind, round, recipient, offset_minutes)",
    # One membership per person per round; one conflict, sheet, score, agreed score,
    # shortlist place and outcome letter per purpose.
    "panel_member_round_user_uniq": "panel_member (round, \"user\")",
    "panel_organisation_member_name_uniq": "panel_organisation (member, normalised)",
    "panel_conflict_member_application_uniq": "panel_conflict (member, application)",
    "score_sheet_member_application_uniq": "score_sheet (member, application)",
    "score_sheet_criterion_uniq": "score (sheet, criterion)",
    "agreed_score_application_criterion_uniq": "agreed_score (application, criterion)",
    "shortlist_entry_application_uniq": "shortlist_entry (shortlist, application)",
    "outcome_application_kind_uniq": "outcome (application, kind)",
    # "Applicant 7" is unique within a round.
    "application_round_panel_number_uniq": "application (round, panel_number)",
}


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
