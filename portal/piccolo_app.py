"""The Piccolo app: its migrations live in the top-level `migrations/` folder."""

from piccolo.conf.apps import AppConfig

from portal.settings import MIGRATIONS_DIR
from portal.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=ALL_TABLES,
    migration_dependencies=[],
    commands=[],
)
