"""RFC 7591 registration (off, open with a rate limit, initial access tokens) and RFC 7592 management."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from support.server import LiveServer

GOOD = {"client_name": "Registered app", "redirect_uris": ["https://app.example.com/cb"]}


async def test_registration_is_off_by_default_and_not_advertised(sqlite_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        answer = await http.post("/oauth/register", json=GOOD)
        frappe = await http.post("/api/method/frappe.integrations.oauth2.register_client", json=GOOD)
        metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert answer.status_code == 404
    assert answer.json()["error_description"] == "Dynamic client registration is switched off on this server"
    assert frappe.status_code == 404
    assert "registration_endpoint" not in metadata


@pytest.fixture
def open_server(start_server) -> LiveServer:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite", GATEPASS_RATE_LIMITS_REGISTRATION_PER_IP_PER_HOUR="4")
    return server.open_registration()


async def test_open_registration_answers_201_with_what_was_granted_and_is_rate_limited(open_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=open_server.url) as http:
        first = await http.post(
            "/oauth/register",
            json={
                **GOOD,
                "scope": "openid email roles",
                "grant_types": ["authorization_code", "refresh_token"],
                "contacts": ["ops@example.com"],
            },
        )
        answers = [await http.post("/oauth/register", json=GOOD) for _ in range(4)]
        metadata = (await http.get("/.well-known/openid-configuration")).json()
    assert first.status_code == 201
    body = first.json()
    assert body["scope"] == "openid email"  # roles is not in registration_scopes: dropped, as RFC 7591 §2 allows
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_secret_expires_at"] == 0
    assert body["contacts"] == ["ops@example.com"]
    assert body["registration_client_uri"] == f"{open_server.url}/oauth/register/{body['client_id']}"
    assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
    assert answers[-1].json()["error"] == "slow_down"
    assert metadata["registration_endpoint"] == f"{open_server.url}/oauth/register"
    listed = open_server.cli("client", "show", body["client_id"], "--json").stdout
    assert '"is_dynamically_registered": true' in listed


@pytest.mark.parametrize(
    ("metadata", "error", "description"),
    [
        (
            {"client_name": "x", "redirect_uris": ["http://evil.example/cb"]},
            "invalid_redirect_uri",
            "'http://evil.example/cb' uses http on a non-loopback host; use https (RFC 9700 section 2.6)",
        ),
        (
            {"client_name": "x", "redirect_uris": ["https://app.example.com/cb#frag"]},
            "invalid_redirect_uri",
            "'https://app.example.com/cb#frag' has a fragment; RFC 6749 section 3.1.2 forbids it",
        ),
        (
            {"client_name": "x", "redirect_uris": ["javascript:alert(1)"]},
            "invalid_redirect_uri",
            "'javascript:alert(1)' uses a scheme that is never allowed",
        ),
        (
            {"client_name": "x"},
            "invalid_redirect_uri",
            "redirect_uris is required: list the URIs the authorization server may redirect to",
        ),
        (
            {"client_name": "x", "redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]},
            "invalid_client_metadata",
            "grant type 'client_credentials' cannot be registered; use authorization_code and refresh_token",
        ),
        (
            {"redirect_uris": ["https://a.example/cb"]},
            "invalid_client_metadata",
            "client_name is required: 1 to 140 characters shown to users on the consent screen",
        ),
    ],
    ids=["http elsewhere", "fragment", "javascript", "no redirect uris", "client credentials", "no name"],
)
async def test_bad_metadata_is_refused_with_the_reason(
    sqlite_open_registration_server: LiveServer, metadata: dict[str, Any], error: str, description: str
) -> None:
    async with httpx.AsyncClient(base_url=sqlite_open_registration_server.url) as http:
        answer = await http.post("/oauth/register", json=metadata)
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}


async def test_native_app_redirect_uris_register(open_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=open_server.url) as http:
        answer = await http.post(
            "/oauth/register",
            json={
                "client_name": "Native",
                "token_endpoint_auth_method": "none",
                "redirect_uris": ["http://127.0.0.1/callback", "com.example.app:/callback"],
            },
        )
    assert answer.status_code == 201
    assert "client_secret" not in answer.json()


async def test_token_mode_needs_a_single_use_initial_access_token(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite")
    server.cli("settings", "set", "registration_mode", "token")
    initial = server.cli("registration", "token", "--json").stdout
    token = json.loads(initial)["initial_access_token"]
    async with httpx.AsyncClient(base_url=server.url) as http:
        without = await http.post("/oauth/register", json=GOOD)
        with_token = await http.post("/oauth/register", json=GOOD, headers={"Authorization": f"Bearer {token}"})
        again = await http.post("/oauth/register", json=GOOD, headers={"Authorization": f"Bearer {token}"})
    assert without.status_code == 401
    assert 'error="invalid_token"' in without.headers["www-authenticate"]
    assert with_token.status_code == 201
    assert again.status_code == 401
    assert again.json()["error_description"] == "The initial access token is invalid, expired or used up"


async def test_client_reads_updates_and_deletes_its_own_registration(open_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=open_server.url) as http:
        body = (await http.post("/oauth/register", json=GOOD)).json()
        own = {"Authorization": f"Bearer {body['registration_access_token']}"}
        uri = body["registration_client_uri"]
        read = await http.get(uri, headers=own)
        wrong = await http.get(uri, headers={"Authorization": "Bearer not-the-token"})
        updated = await http.put(
            uri,
            headers=own,
            json={
                **GOOD,
                "client_id": body["client_id"],
                "client_name": "Renamed",
                "redirect_uris": ["https://app.example.com/new"],
            },
        )
        deleted = await http.delete(uri, headers=own)
        gone = await http.get(uri, headers=own)
    assert read.status_code == 200
    assert read.json()["client_name"] == "Registered app"
    assert "registration_access_token" not in read.json()
    assert wrong.status_code == 401
    assert updated.status_code == 200
    assert updated.json()["client_name"] == "Renamed"
    assert updated.json()["redirect_uris"] == ["https://app.example.com/new"]
    assert deleted.status_code == 204
    assert gone.status_code == 401


# -- bodies and metadata that must be refused with a reason, and refused whole --------------------

_URI_METADATA = "must not contain spaces, quotes, angle brackets or control characters; percent-encode them"


@pytest.mark.parametrize(
    ("body", "error", "description"),
    [
        (
            "[" * 10_000 + "]" * 10_000,
            "invalid_request",
            "The request body nests arrays and objects more than 32 levels deep",
        ),
        ('["client_name"]', "invalid_request", "The request body must be a JSON object of client metadata"),
        ('{"client_name": "x",', "invalid_request", "The request body is not valid JSON"),
        (
            '{"client_name": "a", "redirect_uris": ["https://a.example/cb"], "client_name": "b"}',
            "invalid_client_metadata",
            "The request body has the member 'client_name' more than once; send each member once",
        ),
        (
            '{"client_name": "a", "redirect_uris": ["https://a.example/cb"], "default_max_age": NaN}',
            "invalid_client_metadata",
            "The request body has NaN, which is not a JSON number; send a finite number",
        ),
        (
            '{"client_name": "a", "redirect_uris": ["https://a.example/cb"], "default_max_age": -Infinity}',
            "invalid_client_metadata",
            "The request body has -Infinity, which is not a JSON number; send a finite number",
        ),
        (
            json.dumps({**GOOD, "contacts": [f"ops{i}@example.com" for i in range(21)]}),
            "invalid_client_metadata",
            "contacts lists 21 addresses; list at most 20",
        ),
        *[
            (
                json.dumps({**GOOD, field: f"https://app.example.com/{bad}"}),
                "invalid_client_metadata",
                f"{field} {_URI_METADATA}",
            )
            for field in ("client_uri", "logo_uri")
            for bad in ('a"onload="x', "<script>", "a>b", "a b")
        ],
    ],
    ids=[
        "nested-10000-deep",
        "not-an-object",
        "truncated",
        "duplicate-member",
        "nan",
        "infinity",
        "21-contacts",
        *[f"{field}-{name}" for field in ("client_uri", "logo_uri") for name in ("quote", "lt", "gt", "space")],
    ],
)
async def test_unusable_bodies_are_refused_with_what_to_fix(
    sqlite_open_registration_server: LiveServer, body: str, error: str, description: str
) -> None:
    async with httpx.AsyncClient(base_url=sqlite_open_registration_server.url) as http:
        answer = await http.post("/oauth/register", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}
    assert answer.headers["cache-control"] == "no-store"
    assert "Traceback" not in sqlite_open_registration_server.log_path.read_text()


async def test_refused_metadata_does_not_use_up_the_initial_access_token(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite")
    server.cli("settings", "set", "registration_mode", "token")
    token = json.loads(server.cli("registration", "token", "--json").stdout)["initial_access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=bearer) as http:
        refused = [
            await http.post("/oauth/register", json={**GOOD, "client_uri": 'https://app.example.com/"><script>'}),
            await http.post("/oauth/register", json={**GOOD, "logo_uri": "https://app.example.com/a b.png"}),
            await http.post(
                "/oauth/register",
                content=b'{"client_name": "a", "client_name": "b"}',
                headers={"Content-Type": "application/json"},
            ),
        ]
        registered = await http.post("/oauth/register", json={**GOOD, "client_uri": "https://app.example.com/%22"})
        used_up = await http.post("/oauth/register", json=GOOD)
    assert [answer.json()["error"] for answer in refused] == ["invalid_client_metadata"] * 3
    assert refused[0].json()["error_description"] == f"client_uri {_URI_METADATA}"
    assert refused[1].json()["error_description"] == f"logo_uri {_URI_METADATA}"
    assert registered.status_code == 201, registered.text
    assert registered.json()["client_uri"] == "https://app.example.com/%22"
    assert used_up.status_code == 401
    assert used_up.json()["error_description"] == "The initial access token is invalid, expired or used up"
    assert len(json.loads(server.cli("client", "list", "--json").stdout)) == 1
