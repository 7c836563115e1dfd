"""The seat portal."""

import os

# Piccolo finds its engine through this module; a `dramatiq` worker process imports
# tables without going through the app, so the default must be set on first import.
os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
