"""What pages and OAuth endpoints reach per request: the application context and the client address."""

from __future__ import annotations

from starlette.requests import Request

from gatepass.context import Gatepass, context_of
from gatepass.http.forwarded import client_ip

__all__ = ["client_ip", "web"]


def web(request: Request) -> Gatepass:
    return context_of(request)
