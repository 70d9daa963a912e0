"""Gatepass: an OAuth 2.1 authorization server and OpenID Connect provider."""

__version__ = "0.1.0"
