"""The one door to Authlib's async OAuth 2 client (an httpx.AsyncClient that speaks OAuth).

Authlib builds the authorization URL (state, nonce, PKCE S256 challenge), authenticates the
client at the token endpoint, parses token responses and OAuth errors, and sends bearer tokens.
https://docs.authlib.org/en/latest/client/httpx.html
"""

from __future__ import annotations

import warnings

import authlib.deprecate  # noqa: F401  (Authlib's own warning filter first, so the one below wins)
import httpx
from authlib.integrations.base_client import OAuthError as AuthlibOAuthError

import gatepass

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package, which is not released; its httpx fallback is what we use.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

__all__ = ["AsyncOAuth2Client", "AuthlibOAuthError", "new_client"]

#: Seconds for any one request to a provider; a login page must not hang on a dead provider.
TIMEOUT_SECONDS = 10.0


def new_client(
    *,
    client_id: str,
    client_secret: str | None,
    token_endpoint_auth_method: str,
    redirect_uri: str,
    scope: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncOAuth2Client:
    """A client for one provider; PKCE is always S256 (RFC 9700 §2.1.1)."""
    return AsyncOAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=token_endpoint_auth_method,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge_method="S256",
        timeout=TIMEOUT_SECONDS,
        headers={"User-Agent": f"Gatepass/{gatepass.__version__}"},
        transport=transport,
    )
