"""The ASGI application for uvicorn: settings come from the environment."""

from portal.app import create_app

app = create_app()
