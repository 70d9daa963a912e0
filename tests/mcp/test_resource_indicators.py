"""RFC 8707: tokens are bound to the resource they were asked for; unknown resources are refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from support.backends import BACKENDS
from support.server import LiveServer

OTHER_RESOURCE = "https://mcp.example.com/mcp"


def _service_client(server: LiveServer) -> tuple[str, str]:
    bot = server.create_user()
    client = server.create_client("--grant-type", "client_credentials", "--service-user", bot["email"])
    return client["client_id"], client["client_secret"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_token_for_another_resource_is_refused_by_the_document_api(start_server, backend: str) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server(backend, GATEPASS_SERVER_EXTRA_RESOURCES=OTHER_RESOURCE)
    auth = _service_client(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        for_other = await http.post(
            "/oauth/token",
            auth=auth,
            data={"grant_type": "client_credentials", "scope": "all", "resource": OTHER_RESOURCE},
        )
        for_api = await http.post(
            "/oauth/token",
            auth=auth,
            data={"grant_type": "client_credentials", "scope": "all", "resource": f"{server.url}/api/resource"},
        )
        refused = await http.get(
            "/api/resource/ToDo", headers={"Authorization": f"Bearer {for_other.json()['access_token']}"}
        )
        accepted = await http.get(
            "/api/resource/ToDo", headers={"Authorization": f"Bearer {for_api.json()['access_token']}"}
        )
        introspected = await http.post("/oauth/introspect", auth=auth, data={"token": for_other.json()["access_token"]})
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"
    assert refused.json()["error_description"] == "The access token was issued for another resource"
    assert 'resource_metadata="' in refused.headers["www-authenticate"]
    assert accepted.status_code == 200
    assert introspected.json()["aud"] == OTHER_RESOURCE


async def test_unknown_resource_is_invalid_target_at_token_and_authorization_endpoints(
    sqlite_server: LiveServer,
) -> None:
    auth = _service_client(sqlite_server)
    web_client = sqlite_server.create_client(name="Resource app")
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        token = await http.post(
            "/oauth/token",
            auth=auth,
            data={"grant_type": "client_credentials", "resource": "https://unknown.example.com/api"},
        )
        authorize = await http.get(
            "/oauth/authorize",
            params={
                "client_id": web_client["client_id"],
                "response_type": "code",
                "state": "st",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGEFjjMKvM",
                "code_challenge_method": "S256",
                "resource": "https://unknown.example.com/api",
            },
        )
    assert token.status_code == 400
    assert token.json() == {
        "error": "invalid_target",
        "error_description": "resource 'https://unknown.example.com/api' is not a resource this server issues tokens for",
    }
    redirect = parse_qs(urlsplit(authorize.headers["location"]).query)
    assert authorize.status_code == 303
    assert redirect["error"] == ["invalid_target"]
    assert redirect["state"] == ["st"]
