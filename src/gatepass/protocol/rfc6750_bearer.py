"""Bearer tokens on resource requests (RFC 6750, https://www.rfc-editor.org/rfc/rfc6750).

Only the Authorization header is accepted (§2.1); tokens in query strings leak into logs and
Referer headers (RFC 9700 §4.3.2).
"""

from __future__ import annotations

import re

from gatepass.protocol.errors import InvalidRequest

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


def parse_bearer(authorization: str | None) -> str | None:
    """The token from ``Authorization: Bearer <token>``, None when the header is not Bearer."""
    try:
        return token_of_scheme(authorization, "bearer")
    except ValueError:
        raise InvalidRequest("The Authorization header must be 'Bearer <token>'") from None


def token_of_scheme(authorization: str | None, scheme: str) -> str | None:
    """The token after ``scheme`` (lower case) in an Authorization header, None when the header is of another
    scheme; ValueError when it is not one b64token (§2.1; RFC 9110 §11.2's token68, which DPoP uses too)."""
    if not authorization:
        return None
    sent_scheme, _, token = authorization.partition(" ")
    if sent_scheme.lower() != scheme:
        return None
    token = token.strip()
    if not token or not _B64TOKEN.match(token):
        raise ValueError(f"not a {scheme} token")
    return token


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_bearer_challenge(
    realm: str,
    *,
    error: str | None = None,
    description: str | None = None,
    scope: str | None = None,
    resource_metadata: str | None = None,
) -> str:
    """The WWW-Authenticate value (RFC 6750 §3; resource_metadata from RFC 9728 §5.1)."""
    parts = challenge_parameters(realm, error=error, description=description, scope=scope)
    if resource_metadata:
        parts.append(f"resource_metadata={_quote(resource_metadata)}")
    return "Bearer " + ", ".join(parts)


def challenge_parameters(
    realm: str | None, *, error: str | None = None, description: str | None = None, scope: str | None = None
) -> list[str]:
    """The auth-params of a token challenge (§3), quoted: Bearer's, and DPoP's (RFC 9449 §7.1) before its algs."""
    named = (("realm", realm), ("error", error), ("error_description", description), ("scope", scope))
    return [f"{name}={_quote(value)}" for name, value in named if value]
