"""Piccolo's configuration module (PICCOLO_CONF=portal.piccolo_conf).

`DB` is built from the settings on import and replaced by `portal.db.bind` when the
app, the worker or a test binds another database.
"""

from piccolo.conf.apps import AppRegistry

from portal.engines import engine_for
from portal.settings import Settings

DB = engine_for(Settings.from_env())
APP_REGISTRY = AppRegistry(apps=["portal.piccolo_app"])
