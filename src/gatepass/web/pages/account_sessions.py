"""The account page's list of the user's browser sessions: end one, or every other one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.session import current_session
from gatepass.web.context import client_ip, web
from gatepass.web.errors import error_page


async def end_sessions(request: Request) -> Response:
    """``session_id`` ends that session (this browser's too: then it is logged out); ``others`` ends all but this."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    record, user = session
    context = web(request)
    form = await request.form()
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return error_page(
            request, "Not signed out", "The form expired or was sent from another site. Please try again."
        )
    ip = client_ip(request)
    if form.get("others") == "1":
        await context.browser_sessions.end_all_but(user.id, record.session_id, by="self", ip=ip)
        return RedirectResponse("/?sessions=others#sessions", status_code=303)
    session_id = str(form.get("session_id") or "")
    if not session_id.isdigit() or len(session_id) > 19:
        return error_page(request, "Not signed out", "Choose a session from the list on your account page.")
    await context.browser_sessions.end(user.id, int(session_id), by="self", ip=ip)
    if int(session_id) != record.session_id:
        return RedirectResponse("/?sessions=one#sessions", status_code=303)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(context.session_cookie, path="/", secure=context.is_https, httponly=True, samesite="lax")
    return response
