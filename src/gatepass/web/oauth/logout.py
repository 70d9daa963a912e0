"""RP-Initiated Logout 1.0: end the Gatepass session, then return to a registered URI."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.session import current_session
from gatepass.protocol.errors import OAuthError
from gatepass.protocol.params import parse_params
from gatepass.services.oidc import LogoutRequest
from gatepass.web.context import web
from gatepass.web.errors import error_page
from gatepass.web.templates import render

_FORM_ONLY = ("csrf_token", "decision")


def _back_to_client(logout: LogoutRequest) -> str | None:
    if logout.post_logout_redirect_uri is None:
        return None
    parts = urlsplit(logout.post_logout_redirect_uri)
    query = parts.query
    if logout.state is not None:
        query = f"{query}&{urlencode({'state': logout.state})}" if query else urlencode({"state": logout.state})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


async def _finish(request: Request, logout: LogoutRequest) -> Response:
    context = web(request)
    session = await current_session(request)
    await context.accounts.end_session(request.cookies.get(context.session_cookie), session[1].id if session else None)
    request.scope["gatepass.session"] = None
    target = _back_to_client(logout)
    response: Response = RedirectResponse(target, status_code=303) if target else render(request, "logged_out.html")
    response.delete_cookie(context.session_cookie, path="/", secure=context.is_https, httponly=True, samesite="lax")
    return response


async def end_session(request: Request) -> Response:
    context = web(request)
    try:
        if request.method == "POST":
            form = await request.form()
            params = parse_params((k, str(v)) for k, v in form.multi_items() if k not in _FORM_ONLY)
        else:
            params = parse_params(request.query_params.multi_items())
        logout = await context.oidc.parse_logout(params)
    except OAuthError as error:
        return error_page(request, "Logout request cannot be used", error.description, error_code=error.error)
    session = await current_session(request)
    is_confirmed = False
    if request.method == "POST":
        is_confirmed = is_valid_csrf(request, str((await request.form()).get("csrf_token") or ""))
    # §2: without proof that the RP asked for this user's logout, ask the user first.
    if session is not None and not is_confirmed and not context.oidc.is_hinted_user(logout, session[1]):
        return render(
            request,
            "logout_confirm.html",
            {"params": sorted(params.items()), "client": logout.client.info if logout.client else None},
        )
    return await _finish(request, logout)
