"""Where the authorization server's errors become responses, chosen by the kind of endpoint.

The resource server answers in shapes of its own (resource/errors.py); bearer-token errors of both
servers are built in http/bearer.py.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass import metrics
from gatepass.compat.frappe import FRAPPE_METHOD_PREFIX
from gatepass.protocol.errors import (
    InvalidClient,
    InvalidRequest,
    OAuthError,
    SlowDown,
    TemporarilyUnavailable,
    UseDpopNonce,
)
from gatepass.protocol.rfc6749.token_response import NO_STORE_HEADERS
from gatepass.web.templates import render

_log = logging.getLogger("gatepass.web")


def oauth_json_error(request: Request, error: OAuthError) -> JSONResponse:
    """Back-channel endpoints (token, revoke, introspect): RFC 6749 §5.2 JSON."""
    metrics.OAUTH_ERRORS.labels(error.error).inc()
    headers = dict(NO_STORE_HEADERS)
    if isinstance(error, InvalidClient):
        # RFC 6749 §5.2: 401 with the scheme the client tried (Basic).
        headers["WWW-Authenticate"] = 'Basic realm="gatepass", charset="UTF-8"'
    if isinstance(error, SlowDown):
        headers["Retry-After"] = str(error.retry_after_seconds)
    if isinstance(error, UseDpopNonce):
        # RFC 9449 §8: the nonce to put in a new proof.
        headers["DPoP-Nonce"] = error.nonce
    if error.detail:
        _log.info("oauth error %s: %s", error.error, error.detail)
    return JSONResponse(error.to_dict(), status_code=error.status_code, headers=headers)


def error_page(request: Request, title: str, message: str, *, status_code: int = 400, **extra: Any) -> Response:
    return render(request, "error.html", {"title": title, "message": message, **extra}, status_code=status_code)


def service_unavailable(request: Request, exc: Exception) -> Response:
    """The database (or another dependency) is unreachable: fail fast, tell the client to retry."""
    request_id = request.scope.get("state", {}).get("request_id", "-")
    _log.warning("dependency unavailable (request %s): %s", request_id, type(exc).__name__)
    error = TemporarilyUnavailable(f"The service is temporarily unavailable; retry shortly (request {request_id})")
    return JSONResponse(error.to_dict(), status_code=503, headers={"Retry-After": "1", **NO_STORE_HEADERS})


async def unhandled_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: a generic answer with the request id; the traceback only in the log."""
    request_id = request.scope.get("state", {}).get("request_id", "-")
    _log.exception("unhandled error in request %s", request_id, exc_info=exc)
    body = {"error": "server_error", "error_description": f"Unexpected server error (request {request_id})"}
    return JSONResponse(body, status_code=500, headers=NO_STORE_HEADERS)


async def client_disconnected(request: Request, exc: Exception) -> Response:
    """The client went away before sending its whole body: nobody is left to answer, nothing went wrong here."""
    request_id = request.scope.get("state", {}).get("request_id", "-")
    _log.info("client disconnected before the end of its request body (request %s)", request_id)
    # Sent into a closed connection, so never read; the access log records it as a 400.
    return Response(status_code=400, headers=NO_STORE_HEADERS)


#: Endpoints that answer with HTML pages although their paths sit among the JSON ones.
_PAGE_PATHS = frozenset({"/oauth/authorize", f"{FRAPPE_METHOD_PREFIX}.authorize", "/oauth/consent", "/oauth/logout"})
_JSON_PREFIXES = ("/oauth/", "/api/", "/.well-known/", "/openapi.json")


def unusable_input(request: Request, description: str) -> Response:
    """A 400 in the shape of the endpoint asked: OAuth JSON (RFC 6749 §5.2) or an HTML page."""
    path = request.scope["path"]
    if path.startswith(_JSON_PREFIXES) and path not in _PAGE_PATHS:
        return oauth_json_error(request, InvalidRequest(description))
    return error_page(request, "This request cannot be used", description, error_code="invalid_request")
