"""What pages and OAuth endpoints reach per request: the application context and the client address."""

from __future__ import annotations

from starlette.requests import Request

from gatepass.context import Gatepass, context_of
from gatepass.web.forwarded import client_address


def web(request: Request) -> Gatepass:
    return context_of(request)


def client_ip(request: Request) -> str | None:
    """The client's address, as every rate limit, lockout and audit record counts it.

    The connecting peer, unless it is a trusted proxy: then the address it forwarded the request for.
    """
    if "gatepass.client_ip" not in request.scope:
        peer = request.client.host if request.client else None
        request.scope["gatepass.client_ip"] = client_address(peer, request.headers, web(request).trusted_proxies)
    found: str | None = request.scope["gatepass.client_ip"]
    return found
