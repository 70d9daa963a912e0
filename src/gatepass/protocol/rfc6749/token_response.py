"""The successful token response (RFC 6749 §5.1)."""

from __future__ import annotations

from typing import Any

from gatepass.protocol.params import format_scope
from gatepass.protocol.values import IssuedTokens

# RFC 6749 §5.1: responses with tokens MUST NOT be cached.
NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def build_token_response(issued: IssuedTokens) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": issued.token_type,
        "expires_in": issued.expires_in,
        "scope": format_scope(issued.scopes),
    }
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    if issued.id_token is not None:
        body["id_token"] = issued.id_token
    body.update(issued.extra)
    return body
