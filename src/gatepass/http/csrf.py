"""CSRF protection for cookie-authenticated writes: a random cookie and an HMAC of it (double submit).

Forms carry the value in a field, the document API in the X-Frappe-CSRF-Token header. The value is
bound to the cookie by a server key, so a value set by an attacker on a sibling domain is useless;
the cookies are SameSite=Lax as a second line.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from gatepass.context import context_of
from gatepass.protocol.tokens import new_token

FIELD = "csrf_token"
HEADER = "x-frappe-csrf-token"


class CsrfTokenError(Exception):
    """A write that only the session cookie authenticates, without the CSRF token proving our page sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _expected(request: Request, cookie: str) -> str:
    return hmac.new(context_of(request).keys.csrf_key, cookie.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token to put in a form; sets up the cookie for the response when missing."""
    context = context_of(request)
    cookie = request.cookies.get(context.csrf_cookie) or request.scope.get("gatepass.new_csrf")
    if not cookie or len(cookie) > 128:
        cookie = new_token()
        request.scope["gatepass.new_csrf"] = cookie
    return _expected(request, cookie)


def attach_csrf_cookie(request: Request, response: Response) -> None:
    cookie = request.scope.get("gatepass.new_csrf")
    if cookie:
        context = context_of(request)
        response.set_cookie(
            context.csrf_cookie, cookie, httponly=True, samesite="lax", secure=context.is_https, path="/"
        )


def is_valid_csrf(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(context_of(request).csrf_cookie)
    if not cookie or not submitted or len(cookie) > 128:
        return False
    return hmac.compare_digest(_expected(request, cookie), submitted)
