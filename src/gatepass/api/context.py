"""What the document API reaches per request: the application context (every service, built in app.py)."""

from __future__ import annotations

from starlette.requests import Request

from gatepass.context import Gatepass, context_of


def api(request: Request) -> Gatepass:
    return context_of(request)
