"""The account page: who is logged in and which apps hold access (connected apps)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.web.context import current_session, web
from gatepass.web.csrf import is_valid_csrf
from gatepass.web.errors import error_page
from gatepass.web.templates import render


async def home(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    user = session[1]
    grants = await web(request).revocation.connected_apps(user.id)
    return render(request, "home.html", {"grants": grants})


async def revoke_app(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    form = await request.form()
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return error_page(request, "Not revoked", "The form expired or was sent from another site. Please try again.")
    client_id = str(form.get("client_id") or "")
    await web(request).revocation.revoke_app_access(session[1].id, client_id)
    return RedirectResponse("/", status_code=303)
