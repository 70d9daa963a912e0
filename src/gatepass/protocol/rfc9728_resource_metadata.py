"""Protected resource metadata (RFC 9728, https://www.rfc-editor.org/rfc/rfc9728).

A resource identified by ``https://host/path`` publishes its metadata at
``https://host/.well-known/oauth-protected-resource/path`` (§3.1).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def metadata_url(resource: str) -> str:
    parts = urlsplit(resource)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{path}"


def build_resource_metadata(
    resource: str, *, issuer: str, scopes: tuple[str, ...], resource_name: str, documentation: str | None = None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": list(scopes),
        # RFC 6750 §2.1 only: tokens in bodies and query strings leak (RFC 9700 §4.3.2).
        "bearer_methods_supported": ["header"],
        "resource_name": resource_name,
    }
    if documentation:
        document["resource_documentation"] = documentation
    return document
