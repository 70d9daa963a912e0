"""The document API's own error answers: Frappe's document-error shape and the bare RFC 6750 challenge.

Frappe clients read ``exc_type`` and ``_server_messages``; OAuth clients read ``error`` and
``error_description``: every body carries both. A bad or missing token is answered with the RFC 6750
challenge (gatepass.http.bearer for a token error), so a client can tell "get a new token" from
"not allowed".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.http.csrf import CsrfTokenError
from gatepass.protocol.rfc6749.token_response import NO_STORE_HEADERS
from gatepass.protocol.rfc6750_bearer import build_bearer_challenge
from gatepass.services.document_errors import DocumentError, DocumentValidationError

#: How an endpoint answers text no value may hold (a NUL, a lone surrogate) in its path or query.
UnusableInputAnswer = Callable[[Request, str], Response]

_DOCUMENT_API_PREFIXES = ("/api/resource/", "/api/v1/resource/")
_METHOD_PREFIXES = ("/api/method/", "/api/v1/method/")
#: The names of Frappe's OAuth paths (web/routes.py): the authorization server answers them, in OAuth's shape.
OAUTH_METHODS = "frappe.integrations.oauth2."


class UnusableInput(DocumentValidationError):
    """The document API's answer to text no value may hold: a 400, since no other value would help either."""

    error = "invalid_request"
    status_code = 400


def credentials_required(request: Request, *, realm: str, resource_metadata: str | None = None) -> JSONResponse:
    """No credentials at all: RFC 6750 §3.1, a challenge without an error code."""
    body = {
        "exc_type": "AuthenticationError",
        "error_description": "This API needs credentials: Authorization: Bearer <access token>, "
        "Authorization: token <api_key>:<api_secret>, or a login session",
    }
    # RFC 9728 §5.1: point clients that start from nothing at the resource's metadata.
    challenge = build_bearer_challenge(realm, resource_metadata=resource_metadata)
    headers = {"WWW-Authenticate": challenge, **NO_STORE_HEADERS}
    return JSONResponse(body, status_code=401, headers=headers)


def frappe_error(
    *,
    exc_type: str,
    error: str,
    message: str,
    status_code: int,
    field: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Frappe's v1 error body, with a short ``error`` code beside ``exc_type``; ``extra`` adds keys."""
    server_message = json.dumps({"message": message, "title": "Message", "indicator": "red", "raise_exception": 1})
    body: dict[str, Any] = {
        "exc_type": exc_type,
        "error": error,
        "error_description": message,
        "_error_message": message,
        "_server_messages": json.dumps([server_message]),
        **(extra or {}),
    }
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status_code, headers={**NO_STORE_HEADERS, **(headers or {})})


def document_error(request: Request, error: DocumentError) -> JSONResponse:
    """A document failure under the status Frappe gives its exception type.

    A PermissionError carries no WWW-Authenticate challenge: a new token would not help.
    """
    return frappe_error(
        exc_type=error.exc_type,
        error=error.error,
        message=error.message,
        status_code=error.status_code,
        field=error.field,
    )


def csrf_error(request: Request, error: CsrfTokenError) -> JSONResponse:
    """A session-cookie write without the CSRF header: Frappe's CSRFTokenError, a 400."""
    return frappe_error(exc_type="CSRFTokenError", error="csrf_token_invalid", message=error.message, status_code=400)


def answer_unusable_input(*, otherwise: UnusableInputAnswer) -> UnusableInputAnswer:
    """Unusable text in a document API or RPC path answered in Frappe's shape; any other path by ``otherwise``."""

    def answer(request: Request, description: str) -> Response:
        path = request.scope["path"]
        is_method = path.startswith(_METHOD_PREFIXES) and OAUTH_METHODS not in path
        if path.startswith(_DOCUMENT_API_PREFIXES) or is_method:
            return document_error(request, UnusableInput(description))
        return otherwise(request, description)

    return answer
