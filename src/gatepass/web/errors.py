"""The one place where errors become responses, chosen by the kind of endpoint."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.protocol.errors import InvalidClient, OAuthError, SlowDown, TemporarilyUnavailable
from gatepass.protocol.rfc6749.token_response import NO_STORE_HEADERS
from gatepass.protocol.rfc6750_bearer import build_bearer_challenge
from gatepass.web.templates import render

_log = logging.getLogger("gatepass.web")


def oauth_json_error(request: Request, error: OAuthError) -> JSONResponse:
    """Back-channel endpoints (token, revoke, introspect): RFC 6749 §5.2 JSON."""
    headers = dict(NO_STORE_HEADERS)
    if isinstance(error, InvalidClient):
        # RFC 6749 §5.2: 401 with the scheme the client tried (Basic).
        headers["WWW-Authenticate"] = 'Basic realm="gatepass", charset="UTF-8"'
    if isinstance(error, SlowDown):
        headers["Retry-After"] = str(error.retry_after_seconds)
    if error.detail:
        _log.info("oauth error %s: %s", error.error, error.detail)
    return JSONResponse(error.to_dict(), status_code=error.status_code, headers=headers)


def bearer_error(request: Request, error: OAuthError, *, realm: str) -> JSONResponse:
    """Resource endpoints: RFC 6750 §3 challenge in WWW-Authenticate, the same words in the body."""
    scope = getattr(error, "scope", None)
    challenge = build_bearer_challenge(realm, error=error.error, description=error.description, scope=scope)
    body: dict[str, Any] = error.to_dict()
    if scope:
        body["scope"] = scope
    return JSONResponse(body, status_code=error.status_code, headers={"WWW-Authenticate": challenge})


def error_page(request: Request, title: str, message: str, *, status_code: int = 400, **extra: Any) -> Response:
    return render(request, "error.html", {"title": title, "message": message, **extra}, status_code=status_code)


async def unhandled_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: a generic answer with the request id; the traceback only in the log."""
    request_id = request.scope.get("state", {}).get("request_id", "-")
    is_unavailable = type(exc).__name__ in (
        "OperationalError",
        "InterfaceError",
        "DBAPIError",
        "TimeoutError",
        "ConnectionRefusedError",
        "OSError",
    )
    if is_unavailable:
        _log.warning("dependency unavailable (request %s): %s", request_id, type(exc).__name__)
        error: OAuthError = TemporarilyUnavailable(
            f"The service is temporarily unavailable; retry shortly (request {request_id})"
        )
        return JSONResponse(error.to_dict(), status_code=503, headers={"Retry-After": "1", **NO_STORE_HEADERS})
    _log.exception("unhandled error in request %s", request_id)
    body = {"error": "server_error", "error_description": f"Unexpected server error (request {request_id})"}
    return JSONResponse(body, status_code=500, headers=NO_STORE_HEADERS)
