"""ASGI entry point for uvicorn workers: settings from the environment, then the app."""

from __future__ import annotations

from starlette.applications import Starlette

from gatepass.app import create_app
from gatepass.config import load_settings
from gatepass.logging import configure_logging


def create_app_from_environment() -> Starlette:
    settings = load_settings()
    configure_logging(settings.server.log_level)
    return create_app(settings)
