"""Frappe's session login for API clients: ``login``, ``logout`` and ``frappe.auth.get_logged_user``.

Frappe's client libraries (frappe-client, frappe-connector) post ``usr`` and ``pwd`` and keep the
``sid`` cookie for the calls that follow. That cookie holds a Gatepass login session of its own kind:
it is never the browser's session cookie, and the browser pages do not accept it.

CSRF: Frappe checks the X-Frappe-CSRF-Token header only for sessions it handed a token to, that is
sessions a browser page started; a script's session has none, and the libraries send no header.
Gatepass keeps the header mandatory on writes with the browser's session cookie. With ``sid`` it is
mandatory on writes that carry a browser's own marks (``Origin`` or ``Sec-Fetch-Site``), which every
current browser adds to a cross-site form post or fetch, so a page elsewhere cannot write with it.
https://frappeframework.com/docs/user/en/api/rest#1-token-based-authentication
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.http.forwarded import client_ip
from gatepass.http.rate_limit import check_rate
from gatepass.protocol.errors import SlowDown
from gatepass.protocol.values import Principal
from gatepass.resource.context import (
    login_limit_per_minute,
    session_accounts,
    session_cookie_is_secure,
    user_directory,
)
from gatepass.resource.errors import frappe_error
from gatepass.services.accounts import LoginResult, source_of
from gatepass.services.document_errors import DocumentNotFound
from gatepass.services.stores import SessionRecord, UserRecord

#: Frappe's session cookie name, which its client libraries keep in their cookie jars.
SID_COOKIE = "sid"
#: Headers a browser adds to every cross-site write and a script does not (RFC 6454 §7 Origin; Sec-Fetch-Site).
_BROWSER_MARKS = ("origin", "sec-fetch-site")
#: Frappe's words for every failed password, whichever part was wrong.
INVALID_LOGIN = "Invalid Login. Try again."
#: Where Frappe sends a user after login; Gatepass's own start page is its account page.
HOME_PAGE = "/"
_NO_STORE = {"Cache-Control": "no-store"}


def is_sent_by_browser(request: Request) -> bool:
    return any(mark in request.headers for mark in _BROWSER_MARKS)


async def api_session(request: Request) -> tuple[SessionRecord, UserRecord] | None:
    """The session of the ``sid`` cookie, loaded once per request."""
    if "gatepass.api_session" not in request.scope:
        cookie = request.cookies.get(SID_COOKIE)
        request.scope["gatepass.api_session"] = await session_accounts(request).get_session(cookie) if cookie else None
    found: tuple[SessionRecord, UserRecord] | None = request.scope["gatepass.api_session"]
    return found


def _refused(message: str, *, status_code: int = 401, exc_type: str = "AuthenticationError") -> JSONResponse:
    # Frappe's login answers carry ``message`` too: libraries compare it with "Logged In".
    return frappe_error(
        exc_type=exc_type,
        error="login_failed" if status_code == 401 else "too_many_requests",
        message=message,
        status_code=status_code,
        extra={"message": message, "exception": f"frappe.exceptions.{exc_type}: {message}"},
    )


def _too_many(seconds: int, message: str) -> JSONResponse:
    response = _refused(message, status_code=429, exc_type="TooManyRequestsError")
    response.headers["Retry-After"] = str(seconds)
    return response


def _full_name(user: UserRecord) -> str:
    return " ".join(part for part in (user.first_name, user.last_name) if part) or user.email


async def _authenticate(request: Request, email: str, password: str) -> LoginResult:
    if not email.isprintable() or len(email) > 254:
        # No account's email holds control characters, and PostgreSQL cannot even compare text with NUL.
        return LoginResult(None)
    return await session_accounts(request).authenticate(email, password[:1024], ip=client_ip(request))


async def log_in(request: Request, args: Mapping[str, Any]) -> Response:
    """``usr`` and ``pwd`` → Frappe's "Logged In" answer and a ``sid`` cookie; the login page's limits apply."""
    email, password = args.get("usr"), args.get("pwd")
    if not isinstance(email, str) or not isinstance(password, str) or not email.strip() or not password:
        return _refused("Incomplete login details: send usr and pwd")
    try:
        # The login page's budget, shared: the same address guesses no faster here.
        await check_rate(request, "login-ip", source_of(client_ip(request)), login_limit_per_minute(request))
    except SlowDown as error:
        message = f"Too many login attempts from your network. Try again in {error.retry_after_seconds} seconds."
        return _too_many(error.retry_after_seconds or 60, message)
    result = await _authenticate(request, email.strip(), password)
    if result.retry_after_seconds is not None:
        message = f"Too many failed attempts. Try again in {result.retry_after_seconds} seconds."
        return _too_many(result.retry_after_seconds, message)
    if result.user is None:
        return _refused(INVALID_LOGIN)
    accounts = session_accounts(request)
    await accounts.end_session(request.cookies.get(SID_COOKIE), None)
    cookie = await accounts.start_session(
        result.user.id, user_agent=request.headers.get("user-agent"), ip=client_ip(request)
    )
    body = {"message": "Logged In", "home_page": HOME_PAGE, "full_name": _full_name(result.user)}
    response = JSONResponse(body, headers=_NO_STORE)
    response.set_cookie(
        SID_COOKIE, cookie, httponly=True, samesite="lax", secure=session_cookie_is_secure(request), path="/"
    )
    return response


async def log_out(request: Request) -> Response:
    """End the ``sid`` session, if any; Frappe answers a logout without a session alike."""
    session = await api_session(request)
    await session_accounts(request).end_session(request.cookies.get(SID_COOKIE), session[1].id if session else None)
    request.scope["gatepass.api_session"] = None
    response = JSONResponse({}, headers=_NO_STORE)
    response.delete_cookie(
        SID_COOKIE, path="/", secure=session_cookie_is_secure(request), httponly=True, samesite="lax"
    )
    return response


async def logged_user(request: Request, principal: Principal, args: Mapping[str, Any]) -> str:
    """``frappe.auth.get_logged_user``: the email of whoever the request acts for (Frappe's user id)."""
    user = await user_directory(request).get_user(principal.user_id)
    if user is None:
        raise DocumentNotFound("The user of these credentials no longer exists")
    return user.email
