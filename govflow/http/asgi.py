"""The ASGI application factory for uvicorn workers (``govflow api --workers N``)."""

from __future__ import annotations

from litestar import Litestar

from govflow.bootstrap.instance import configure_logging
from govflow.http.app import create_app
from govflow.settings import load_settings


def create() -> Litestar:
    """The app, from the environment (the ``api`` command resolved the service URLs first)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
