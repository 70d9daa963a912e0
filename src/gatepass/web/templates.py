"""Jinja2 pages, each with a CSRF token ready and the CSRF cookie attached when new."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from gatepass.http.csrf import attach_csrf_cookie, csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
#: The pages with a passkey button load static/passkeys.js, which fetches the ceremony's options: the default
#: policy (middleware.py) allows neither; inline scripts stay forbidden here too.
_PASSKEY_PAGES = frozenset({"login.html", "second_factor.html", "passkeys.html", "two_factor_enrol.html"})
PASSKEY_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200) -> Response:
    values = dict(context or {})
    values.setdefault("csrf_token", csrf_token(request))
    values.setdefault(
        "user",
        request.scope.get("gatepass.session", (None, None))[1] if request.scope.get("gatepass.session") else None,
    )
    response = templates.TemplateResponse(
        request, name, values, status_code=status_code, headers={"Cache-Control": "no-store"}
    )
    attach_csrf_cookie(request, response)
    if name in _PASSKEY_PAGES:
        response.headers["Content-Security-Policy"] = PASSKEY_PAGE_CSP
    return response
