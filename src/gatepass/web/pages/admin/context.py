"""What the admin pages reach per request: the application context (every service, built in app.py)."""

from __future__ import annotations

from starlette.requests import Request

from gatepass.context import Gatepass, context_of


def admin(request: Request) -> Gatepass:
    return context_of(request)
