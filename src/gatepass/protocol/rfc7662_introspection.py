"""Token introspection responses (RFC 7662, https://www.rfc-editor.org/rfc/rfc7662).

An active token lists its metadata (§2.2); anything else is exactly ``{"active": false}``, which is
also the answer to a caller not allowed to learn about the token (§4), so that it learns nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gatepass.protocol.values import ClientInfo


def is_allowed_to_introspect(caller: ClientInfo, token_client_id: str) -> bool:
    """RFC 7662 §4: whether an authenticated caller may learn about a token issued to token_client_id.

    A client may see its own tokens. Another client's tokens only a resource server may see (a per-client
    flag an admin sets), or a Frappe-legacy client, since Frappe lets any caller introspect any token.
    """
    if caller.client_id == token_client_id:
        return True
    # A public client proves nothing about who is calling, so it never sees another client's tokens.
    if caller.is_public:
        return False
    return caller.is_resource_server or caller.is_frappe_legacy


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
    act: Mapping[str, Any] | None = None,
    dpop_jkt: str | None = None,
) -> dict[str, Any]:
    """The active token's metadata; a DPoP-bound access token's with ``cnf.jkt`` and token_type DPoP (RFC 9449
    §6.2), so that a resource server knows which key its proofs must be signed with."""
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
    if act:
        # RFC 8693 §4.1: who acts for the subject, the actors before it nested inside.
        body["act"] = dict(act)
    if dpop_jkt is not None:
        body["token_type"] = "DPoP"
        body["cnf"] = {"jkt": dpop_jkt}
    return body
