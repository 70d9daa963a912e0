"""The one place where errors become responses, chosen by the kind of endpoint."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass import metrics
from gatepass.compat.frappe import FRAPPE_METHOD_PREFIX
from gatepass.protocol.errors import InvalidClient, InvalidRequest, OAuthError, SlowDown, TemporarilyUnavailable
from gatepass.protocol.rfc6749.token_response import NO_STORE_HEADERS
from gatepass.protocol.rfc6750_bearer import build_bearer_challenge
from gatepass.services.document_errors import DocumentError, DocumentValidationError
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


class UnusableInput(DocumentValidationError):
    """The document API's answer to text no value may hold: a 400, since no other value would help either."""

    error = "invalid_request"
    status_code = 400


#: Endpoints that answer with HTML pages although their paths sit among the JSON ones.
_PAGE_PATHS = frozenset({"/oauth/authorize", f"{FRAPPE_METHOD_PREFIX}.authorize", "/oauth/consent", "/oauth/logout"})
_DOCUMENT_API_PREFIXES = ("/api/resource/", "/api/v1/resource/")
_JSON_PREFIXES = ("/oauth/", "/api/", "/.well-known/", "/openapi.json")


def unusable_input(request: Request, description: str) -> Response:
    """A 400 in the shape of the endpoint asked: document API, OAuth JSON (RFC 6749 §5.2) or an HTML page."""
    path = request.scope["path"]
    if path.startswith(_DOCUMENT_API_PREFIXES):
        return document_error(request, UnusableInput(description))
    if path.startswith(_JSON_PREFIXES) and path not in _PAGE_PATHS:
        return oauth_json_error(request, InvalidRequest(description))
    return error_page(request, "This request cannot be used", description, error_code="invalid_request")


def credentials_required(request: Request, *, realm: str, resource_metadata: str | None = None) -> JSONResponse:
    """Resource endpoints without credentials: RFC 6750 §3.1, a challenge without an error code."""
    body = {
        "exc_type": "AuthenticationError",
        "error_description": "This API needs credentials: Authorization: Bearer <access token>, "
        "Authorization: token <api_key>:<api_secret>, or a login session",
    }
    # RFC 9728 §5.1: point clients that start from nothing at the resource's metadata.
    challenge = build_bearer_challenge(realm, resource_metadata=resource_metadata)
    headers = {"WWW-Authenticate": challenge, **NO_STORE_HEADERS}
    return JSONResponse(body, status_code=401, headers=headers)


def document_error(request: Request, error: DocumentError) -> JSONResponse:
    """Document API failures in Frappe's v1 shape (REFERENCE §4.3), with a short ``error`` code beside it.

    A PermissionError carries no WWW-Authenticate challenge: a new token would not help.
    """
    message = json.dumps({"message": error.message, "title": "Message", "indicator": "red", "raise_exception": 1})
    body: dict[str, Any] = {
        "exc_type": error.exc_type,
        "error": error.error,
        "error_description": error.message,
        "_error_message": error.message,
        "_server_messages": json.dumps([message]),
    }
    if error.field:
        body["field"] = error.field
    return JSONResponse(body, status_code=error.status_code, headers=NO_STORE_HEADERS)
