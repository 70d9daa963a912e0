"""An MCP-style client that knows only the API's URL: discover, register, get consent, call the API."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from support.backends import BACKENDS
from support.server import LiveServer

CALLBACK = "http://127.0.0.1:9999/callback"


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _challenge_param(header: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', header)
    assert match, header
    return match.group(1)


async def _authorize_in_browser(page: Any, url: str, user: dict[str, Any]) -> dict[str, list[str]]:
    """Log in and allow in real Chromium; the redirect to the client is caught, nothing listens there."""
    caught: list[str] = []

    async def catch(route: Any) -> None:
        caught.append(route.request.url)
        await route.fulfill(status=200, body="captured")

    await page.route("http://127.0.0.1:9999/**", catch)
    await page.goto(url)
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    await page.click("button[type=submit].primary")
    await page.click("button[value=allow]")
    await page.wait_for_url("http://127.0.0.1:9999/**")
    assert caught, "the browser was not sent back to the client"
    return parse_qs(urlsplit(caught[-1]).query)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_client_knowing_only_the_api_url_discovers_registers_and_calls_the_api(
    start_server: Callable[..., LiveServer],
    page: Any,
    backend: str,
) -> None:
    server: LiveServer = start_server(backend)
    server.cli("settings", "set", "registration_mode", "open")
    server.cli("settings", "set", "registration_scopes", "openid profile all")
    user = server.create_user()
    async with httpx.AsyncClient() as http:
        # 1. The API says who protects it (RFC 9728 §5.1).
        refused = await http.get(f"{server.url}/api/resource/ToDo")
        assert refused.status_code == 401
        metadata_url = _challenge_param(refused.headers["www-authenticate"], "resource_metadata")
        resource_metadata = (await http.get(metadata_url)).json()
        resource = resource_metadata["resource"]
        assert resource == f"{server.url}/api/resource"
        issuer = resource_metadata["authorization_servers"][0]
        # 2. The authorization server describes itself (RFC 8414).
        metadata = (await http.get(f"{issuer}/.well-known/oauth-authorization-server")).json()
        assert metadata["issuer"] == issuer
        assert "S256" in metadata["code_challenge_methods_supported"]
        # 3. The client registers itself (RFC 7591), as a public client.
        registered = await http.post(
            metadata["registration_endpoint"],
            json={
                "client_name": "Assistant",
                "redirect_uris": [CALLBACK],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "scope": "openid all",
            },
        )
        assert registered.status_code == 201, registered.text
        client = registered.json()
        assert "client_secret" not in client
        assert client["scope"] == "openid all"
        # 4. Code + PKCE with the resource, in a real browser (RFC 8707).
        verifier, challenge = _pkce()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client["client_id"],
                "redirect_uri": CALLBACK,
                "scope": "openid all",
                "state": "s-1",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "resource": resource,
            }
        )
        answer = await _authorize_in_browser(page, f"{metadata['authorization_endpoint']}?{query}", user)
        assert answer["state"] == ["s-1"]
        assert answer["iss"] == [issuer]
        token = await http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": answer["code"][0],
                "redirect_uri": CALLBACK,
                "client_id": client["client_id"],
                "code_verifier": verifier,
                "resource": resource,
            },
        )
        assert token.status_code == 200, token.text
        # 5. The API answers, as the user.
        todos = await http.get(
            f"{server.url}/api/resource/ToDo", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
        )
        assert todos.status_code == 200
        assert todos.json() == {"data": []}
        introspected = await http.post(
            f"{issuer}/oauth/introspect", data={"token": token.json()["access_token"], "client_id": client["client_id"]}
        )
        assert introspected.json()["aud"] == resource
        assert introspected.json()["username"] == user["email"]
