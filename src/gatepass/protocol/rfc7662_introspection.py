"""Token introspection responses (RFC 7662, https://www.rfc-editor.org/rfc/rfc7662).

An active token lists its metadata (§2.2); anything else is exactly ``{"active": false}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def build_introspection_response(
    *,
    issuer: str,
    client_id: str,
    is_trusted_client: bool,
    scopes: tuple[str, ...],
    issued_at: datetime | None,
    expires_at: datetime,
    token_type: str,
    subject: str | None,
    username: str | None,
    audience: str,
    user_fields: dict[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if user_fields:
        body.update(user_fields)
    body.update(
        {
            "active": True,
            "client_id": client_id,
            # Frappe's field: 1 when the client skips the consent screen.
            "trusted_client": 1 if is_trusted_client else 0,
            "scope": " ".join(scopes),
            "exp": int(expires_at.timestamp()),
            "token_type": "Bearer" if token_type == "access_token" else "refresh_token",
            "aud": audience,
            "iss": issuer,
        }
    )
    if issued_at is not None:
        body["iat"] = int(issued_at.timestamp())
    if subject is not None:
        body["sub"] = subject
    if username is not None:
        body["username"] = username
    return body
