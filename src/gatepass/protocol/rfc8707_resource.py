"""Resource indicators (RFC 8707, https://www.rfc-editor.org/rfc/rfc8707).

A client names the protected resource it wants a token for; the token's audience is that
resource, and other resources refuse it. Only resources this server knows are accepted.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from gatepass.protocol.errors import InvalidTarget


def check_resource(resource: str | None, known: Collection[str]) -> str | None:
    """The resource to bind the token to, or None when the client named none."""
    if resource is None:
        return None
    parts = urlsplit(resource)
    # RFC 8707 §2: an absolute URI without a fragment.
    if not parts.scheme or not parts.netloc or parts.fragment or "#" in resource:
        raise InvalidTarget("resource must be an absolute URI without a fragment")
    normalised = resource.rstrip("/")
    if normalised not in {uri.rstrip("/") for uri in known}:
        raise InvalidTarget(f"resource '{resource}' is not a resource this server issues tokens for")
    return normalised


def check_token_resource(requested: str | None, granted: str | None) -> str | None:
    """At the token endpoint a client may repeat or narrow to the authorized resource, never widen it."""
    if requested is None:
        return granted
    if granted is not None and requested.rstrip("/") != granted:
        raise InvalidTarget("resource differs from the one the authorization was for")
    return requested.rstrip("/")
