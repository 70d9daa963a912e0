"""Jinja2 pages, each with a CSRF token ready and the CSRF cookie attached when new."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from gatepass.http.csrf import attach_csrf_cookie, csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


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
    return response
