"""What pages and OAuth endpoints reach per request: the application context, login session and client address."""

from __future__ import annotations

from starlette.requests import Request

from gatepass.context import Gatepass, context_of
from gatepass.services.stores import SessionRecord, UserRecord
from gatepass.web.forwarded import client_address


def web(request: Request) -> Gatepass:
    return context_of(request)


async def current_session(request: Request) -> tuple[SessionRecord, UserRecord] | None:
    """The login session of this browser, loaded once per request."""
    if "gatepass.session" not in request.scope:
        context = web(request)
        request.scope["gatepass.session"] = await context.accounts.get_session(
            request.cookies.get(context.session_cookie)
        )
    found: tuple[SessionRecord, UserRecord] | None = request.scope["gatepass.session"]
    return found


def client_ip(request: Request) -> str | None:
    """The client's address, as every rate limit, lockout and audit record counts it.

    The connecting peer, unless it is a trusted proxy: then the address it forwarded the request for.
    """
    if "gatepass.client_ip" not in request.scope:
        peer = request.client.host if request.client else None
        request.scope["gatepass.client_ip"] = client_address(peer, request.headers, web(request).trusted_proxies)
    found: str | None = request.scope["gatepass.client_ip"]
    return found
