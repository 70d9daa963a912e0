"""ASGI entry point for uvicorn workers: settings from the environment, then the app."""

from __future__ import annotations

from starlette.applications import Starlette

from gatepass.app import create_app
from gatepass.config import load_settings


def create_app_from_environment() -> Starlette:
    return create_app(load_settings())
