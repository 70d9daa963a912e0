"""The browser's login session, found from its session cookie once per request."""

from __future__ import annotations

from starlette.requests import Request

from gatepass.context import context_of
from gatepass.services.stores import SessionRecord, UserRecord


async def current_session(request: Request) -> tuple[SessionRecord, UserRecord] | None:
    """The login session of this browser, loaded once per request."""
    if "gatepass.session" not in request.scope:
        context = context_of(request)
        request.scope["gatepass.session"] = await context.accounts.get_session(
            request.cookies.get(context.session_cookie)
        )
    found: tuple[SessionRecord, UserRecord] | None = request.scope["gatepass.session"]
    return found
