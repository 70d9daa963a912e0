"""Starting a browser's login session once every factor asked for has been shown, or the second step first."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.protocol.oidc.authentication_context import has_second_factor
from gatepass.services.second_factors import PENDING_LOGIN_SECONDS
from gatepass.services.stores import UserRecord
from gatepass.web.context import client_ip, web

SECOND_FACTOR_PATH = "/login/second-factor"
#: The sealed note of a login whose first factor passed, until the second step (path /login only).
PENDING_COOKIE = "gp_second_factor"


async def start_login_session(request: Request, user_id: int, amr: tuple[str, ...], response: Response) -> Response:
    """End the browser's previous session (a login never inherits one) and set the new session's cookie."""
    context = web(request)
    old = request.cookies.get(context.session_cookie)
    if old:
        await context.accounts.end_session(old, None)
    cookie = await context.accounts.start_session(
        user_id, amr=amr, user_agent=request.headers.get("user-agent"), ip=client_ip(request)
    )
    response.set_cookie(
        context.session_cookie, cookie, httponly=True, samesite="lax", secure=context.is_https, path="/"
    )
    return response


async def redirect_with_session(request: Request, user_id: int, amr: tuple[str, ...], next_url: str) -> Response:
    return await start_login_session(request, user_id, amr, RedirectResponse(next_url, status_code=303))


async def after_first_factor(request: Request, user: UserRecord, amr: tuple[str, ...], next_url: str) -> Response:
    """A session now, or the second step first: for a user with a second factor, or one the policy requires
    to set one up. Until then the browser holds only a sealed, short-lived note of the first factor."""
    factors = web(request).second_factors
    # A trusted provider's second factor counts: its login is not asked for a code again.
    if has_second_factor(amr) or not (await factors.has_factor(user.id) or await factors.is_required_for(user)):
        return await redirect_with_session(request, user.id, amr, next_url)
    response = RedirectResponse(f"{SECOND_FACTOR_PATH}?{urlencode({'next': next_url})}", status_code=303)
    context = web(request)
    response.set_cookie(
        PENDING_COOKIE, factors.seal_pending_login(user, amr), max_age=PENDING_LOGIN_SECONDS,
        httponly=True, samesite="lax", secure=context.is_https, path="/login",
    )  # fmt: skip
    return response
