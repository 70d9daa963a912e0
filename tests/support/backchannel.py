"""The back channel a client calls directly: token, revocation and introspection, at standard paths or Frappe's.

Requests authenticate as the client registered (client_secret_basic, client_secret_post or none),
and the checks here assert the exact error a client would read (RFC 6749 §5.2).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from support.pkce import Pkce
from support.server import REDIRECT_URI, LiveServer

TOKEN = "/oauth/token"
REVOKE = "/oauth/revoke"
INTROSPECT = "/oauth/introspect"
FRAPPE = "/api/method/frappe.integrations.oauth2"
FRAPPE_TOKEN = f"{FRAPPE}.get_token"
FRAPPE_REVOKE = f"{FRAPPE}.revoke_token"
FRAPPE_INTROSPECT = f"{FRAPPE}.introspect_token"
#: RFC 7662 §2.2: the whole answer for a token that is not active.
INACTIVE = {"active": False}
BASIC_CHALLENGE = 'Basic realm="gatepass", charset="UTF-8"'
#: invalid_client when the secret came another way than the client registered: both ways out, spelled out.
BASIC_CLIENT_USED_POST = (
    "This client is registered for client_secret_basic, but the request used client_secret_post. Send client_id "
    "and client_secret in an HTTP Basic Authorization header, or change the client's token_endpoint_auth_method: "
    "gatepass client update <client_id> --auth-method client_secret_post (or --frappe-legacy to accept both), "
    "the console's field How a confidential client sends its secret, or a new dynamic registration with "
    "token_endpoint_auth_method client_secret_post"
)
POST_CLIENT_USED_BASIC = (
    "This client is registered for client_secret_post, but the request used client_secret_basic. Send client_id "
    "and client_secret in the form body, or change the client's token_endpoint_auth_method: "
    "gatepass client update <client_id> --auth-method client_secret_basic (or --frappe-legacy to accept both), "
    "the console's field How a confidential client sends its secret, or a new dynamic registration with "
    "token_endpoint_auth_method client_secret_basic"
)
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
#: Made once and shared: each new httpx client would otherwise load the CA bundle again (slow),
#: although every URL here is plain http on 127.0.0.1.
SSL_CONTEXT = ssl.create_default_context()


def basic(client: Mapping[str, Any]) -> httpx.BasicAuth:
    return httpx.BasicAuth(client["client_id"], client["client_secret"])


def client_auth(client: Mapping[str, Any]) -> tuple[dict[str, str], httpx.BasicAuth | None]:
    """Credentials as the client registered them: (form fields, Basic auth)."""
    method = client["token_endpoint_auth_method"]
    if method == "client_secret_basic":
        return {}, basic(client)
    if method == "client_secret_post":
        return {"client_id": client["client_id"], "client_secret": client["client_secret"]}, None
    return {"client_id": client["client_id"]}, None


@dataclass
class Backchannel:
    """The token, revocation and introspection endpoints of one server, standard paths or Frappe's."""

    http: httpx.AsyncClient
    server: LiveServer
    token_path: str = TOKEN
    revoke_path: str = REVOKE
    introspect_path: str = INTROSPECT

    def frappe(self) -> Backchannel:
        return Backchannel(self.http, self.server, FRAPPE_TOKEN, FRAPPE_REVOKE, FRAPPE_INTROSPECT)

    async def post(self, path: str, client: Mapping[str, Any] | None, data: Mapping[str, str]) -> httpx.Response:
        """POST a form, authenticating as ``client`` registered (None: no client authentication)."""
        fields, auth = client_auth(client) if client is not None else ({}, None)
        # Set explicitly: httpx sends no Content-Type for an empty form.
        request = self.http.build_request(
            "POST", self.server.url + path, content=urlencode({**fields, **data}), headers=FORM_HEADERS
        )
        return await self.http.send(request, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT)

    async def token(self, client: Mapping[str, Any] | None, **data: str) -> httpx.Response:
        return await self.post(self.token_path, client, data)

    async def redeem(
        self,
        client: Mapping[str, Any],
        code: str,
        pkce: Pkce | None,
        *,
        redirect_uri: str | None = REDIRECT_URI,
    ) -> httpx.Response:
        data = {"grant_type": "authorization_code", "code": code}
        if redirect_uri is not None:
            data["redirect_uri"] = redirect_uri
        if pkce is not None:
            data["code_verifier"] = pkce.verifier
        return await self.post(self.token_path, client, data)

    async def tokens(
        self, client: Mapping[str, Any], code: str, pkce: Pkce | None, *, redirect_uri: str | None = REDIRECT_URI
    ) -> dict[str, Any]:
        """Redeem a code that must succeed; returns the token response."""
        response = await self.redeem(client, code, pkce, redirect_uri=redirect_uri)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def refresh(self, client: Mapping[str, Any], refresh_token: str, **extra: str) -> httpx.Response:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
        return await self.post(self.token_path, client, data)

    async def refreshed(self, client: Mapping[str, Any], refresh_token: str) -> dict[str, Any]:
        """A refresh that must succeed; returns the token response."""
        response = await self.refresh(client, refresh_token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def introspect(self, client: Mapping[str, Any], token: str, **extra: str) -> dict[str, Any]:
        response = await self.post(self.introspect_path, client, {"token": token, **extra})
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body: dict[str, Any] = response.json()
        return body

    async def revoke(self, client: Mapping[str, Any] | None, token: str, **extra: str) -> httpx.Response:
        return await self.post(self.revoke_path, client, {"token": token, **extra})


def assert_oauth_error(
    response: httpx.Response, status: int, error: str, description: str, *, challenge: str | None = None
) -> None:
    """RFC 6749 §5.2: exact status, error and error_description, never cached; 401s carry a challenge."""
    expected = (status, {"error": error, "error_description": description})
    assert (response.status_code, response.json()) == expected, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers.get("www-authenticate") == challenge
