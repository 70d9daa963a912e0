"""The door of every admin page: logged in (else the login page), System Manager (else 403), CSRF on forms.

Each admin endpoint is wrapped by ``guarded`` in the admin route table, so no page can forget the check.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.forwarded import client_ip
from gatepass.http.session import current_session
from gatepass.services.accounts import SYSTEM_MANAGER
from gatepass.services.audit import acting_as
from gatepass.services.stores import Conflict, NotFound, UserRecord
from gatepass.web.errors import error_page
from gatepass.web.templates import render

AdminHandler = Callable[[Request, UserRecord], Awaitable[Response]]

#: Messages shown after a redirect (?notice=key): fixed texts, so nothing from the URL is echoed.
NOTICES = {
    "created": "Created.",
    "saved": "Saved.",
    "deleted": "Deleted.",
    "enabled": "Enabled.",
    "disabled": "Disabled. Every token it held stopped working.",
    "client_disabled": "Disabled. The client can no longer get tokens, and every token it held is revoked.",
    "provider_disabled": "Disabled. The login page no longer offers it, and logins through it are refused.",
    "revoked": "Revoked: the tokens of that grant no longer work.",
    "password": "Password changed.",
    "session_ended": "Signed out: that browser must log in again.",
    "sessions_ended": "Signed out everywhere: every browser of the user must log in again.",
    "verification_sent": "Verification link sent to the user's address: it works once, and opening it verifies it.",
    "factors_reset": "Two-factor login reset: the authenticator app and recovery codes no longer work.",
    "rotated": "New signing keys made: published now, signing after the grace period.",
    "purged": "Purged: expired and revoked codes, tokens and sessions are deleted.",
}
EXPIRED = "The form expired or was sent from another site. Reload the page and try again."


class FormExpired(Exception):
    """The CSRF token is missing or wrong."""


def _printable(value: str) -> str:
    """Without control characters (line breaks kept): no database stores NUL in text, and no one means them."""
    return "".join(c for c in value if c.isprintable() or c in "\r\n\t").strip()


def query_text(request: Request, name: str, *, limit: int = 254) -> str:
    """A filter from the query string, cleaned like form text."""
    return _printable(request.query_params.get(name, ""))[:limit]


class AdminForm:
    """A checked POST form, read the way admin pages need it."""

    def __init__(self, data: FormData) -> None:
        self._data = data

    def text(self, name: str, *, limit: int = 2048) -> str:
        return _printable(str(self._data.get(name) or ""))[:limit]

    def lines(self, name: str) -> tuple[str, ...]:
        """One value per line (redirect URIs, fields), blank lines dropped, each once."""
        return tuple(dict.fromkeys(line.strip() for line in self.text(name, limit=65536).splitlines() if line.strip()))

    def uri_lines(self, name: str) -> tuple[str, ...]:
        """Addresses, one per line, with nothing silently removed: one holding an invisible or control
        character must be refused by the address rule, never stored as another address than was typed."""
        raw = str(self._data.get(name) or "")[:65536]
        return tuple(dict.fromkeys(line.strip() for line in raw.split("\n") if line.strip()))

    def values(self, name: str) -> tuple[str, ...]:
        """Every value of a repeated field (checkboxes), each once, in form order."""
        return tuple(dict.fromkeys(_printable(str(value)) for value in self._data.getlist(name) if str(value).strip()))

    def is_checked(self, name: str) -> bool:
        return self._data.get(name) is not None

    def has(self, name: str) -> bool:
        return name in self._data


async def read_form(request: Request) -> AdminForm:
    data = await request.form()
    if not is_valid_csrf(request, str(data.get("csrf_token") or "")):
        raise FormExpired
    return AdminForm(data)


def page(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    """An admin template with the notice from ?notice= (known keys only)."""
    values = {"notice": NOTICES.get(request.query_params.get("notice", "")), **context}
    return render(request, name, values, status_code=status_code)


def done(path: str, notice: str) -> RedirectResponse:
    """Post/redirect/get: back to a page with a fixed notice."""
    separator = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{separator}notice={notice}", status_code=303)


def guarded(handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        session = await current_session(request)
        if session is None:
            target = request.url.path if request.method == "GET" else "/admin"
            if request.method == "GET" and request.url.query:
                target += "?" + request.url.query
            return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
        user = session[1]
        if SYSTEM_MANAGER not in user.roles:
            return render(request, "admin/forbidden.html", {"title": "Admins only"}, status_code=403)
        try:
            with acting_as(f"admin:{user.email}", ip=client_ip(request)):
                return await handler(request, user)
        except FormExpired:
            return error_page(request, "Nothing was changed", EXPIRED, status_code=400)
        except NotFound as exc:
            return error_page(request, "Not found", str(exc) or "It does not exist (any more).", status_code=404)
        except Conflict as exc:
            return error_page(request, "Already exists", str(exc), status_code=409)

    return endpoint
