"""CORS: registered origins on the back-channel endpoints, anyone on public documents, nobody on pages."""

from __future__ import annotations

import httpx

from support.server import LiveServer


async def test_preflight_is_allowed_for_a_registered_origin_and_refused_for_another(sqlite_server: LiveServer) -> None:
    sqlite_server.create_client("--public", "--redirect-uri", "https://spa.example.com/callback", name="SPA")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        allowed = await http.options("/oauth/token", headers={"Origin": "https://spa.example.com", **preflight})
        refused = await http.options("/oauth/token", headers={"Origin": "https://evil.example", **preflight})
        posted = await http.post(
            "/oauth/token", data={"grant_type": "authorization_code"}, headers={"Origin": "https://spa.example.com"}
        )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://spa.example.com"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    # A browser app sends DPoP proofs and reads the nonce of the next one (RFC 9449).
    assert "DPoP" in allowed.headers["access-control-allow-headers"].split(", ")
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert posted.headers["access-control-allow-origin"] == "https://spa.example.com"
    assert "WWW-Authenticate" in posted.headers["access-control-expose-headers"]
    assert "DPoP-Nonce" in posted.headers["access-control-expose-headers"].split(", ")


async def test_public_documents_allow_any_origin_and_pages_none(sqlite_server: LiveServer) -> None:
    origin = {"Origin": "https://anyone.example"}
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        discovery = await http.get("/.well-known/openid-configuration", headers=origin)
        jwks = await http.get("/.well-known/jwks.json", headers=origin)
        authorize = await http.get("/oauth/authorize", params={"client_id": "x"}, headers=origin)
        login = await http.get("/login", headers=origin)
    assert discovery.headers["access-control-allow-origin"] == "*"
    assert jwks.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in authorize.headers
    assert "access-control-allow-origin" not in login.headers
