"""Admin: a user's browser sessions, listed on their page; end one, or every one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gatepass.services.stores import NotFound, UserRecord
from gatepass.web.context import client_ip
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import done, read_form


async def end_sessions(request: Request, me: UserRecord) -> Response:
    """``session_id`` ends that session, ``all`` every session of the user; the admin's own current session
    too, if they choose it (then they log in again)."""
    user_id = request.path_params["user_id"]
    context = admin(request)
    if await context.accounts.get_user(user_id) is None:
        raise NotFound(f"No user has id {user_id}")
    form = await read_form(request)
    ip = client_ip(request)
    if form.text("all") == "1":
        await context.browser_sessions.end_all_but(user_id, None, by="admin", ip=ip)
        return done(f"/admin/users/{user_id}", "sessions_ended")
    session_id = form.text("session_id", limit=19)
    if session_id.isdigit():
        await context.browser_sessions.end(user_id, int(session_id), by="admin", ip=ip)
    return done(f"/admin/users/{user_id}", "session_ended")
