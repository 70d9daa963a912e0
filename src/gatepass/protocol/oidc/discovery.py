"""OpenID Provider configuration (OIDC Discovery 1.0 §3): the RFC 8414 document, one issuer for both."""

from __future__ import annotations

from gatepass.protocol.rfc8414_metadata import build_authorization_server_metadata

build_openid_configuration = build_authorization_server_metadata

__all__ = ["build_openid_configuration"]
