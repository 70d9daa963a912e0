"""Error responses of endpoints that take a bearer token: the RFC 6750 §3 challenge and a JSON body.

The document API, UserInfo and the client configuration endpoint all answer a bad token this way.
https://www.rfc-editor.org/rfc/rfc6750#section-3
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from gatepass import metrics
from gatepass.protocol.errors import OAuthError
from gatepass.protocol.rfc6750_bearer import build_bearer_challenge


def bearer_error(
    request: Request, error: OAuthError, *, realm: str, resource_metadata: str | None = None
) -> JSONResponse:
    """The challenge in WWW-Authenticate and the same words in the body; resource_metadata only on a 401."""
    metrics.OAUTH_ERRORS.labels(error.error).inc()
    scope = getattr(error, "scope", None)
    challenge = build_bearer_challenge(
        realm,
        error=error.error,
        description=error.description,
        scope=scope,
        resource_metadata=resource_metadata if error.status_code == 401 else None,
    )
    body: dict[str, Any] = error.to_dict()
    if scope:
        body["scope"] = scope
    return JSONResponse(body, status_code=error.status_code, headers={"WWW-Authenticate": challenge})
