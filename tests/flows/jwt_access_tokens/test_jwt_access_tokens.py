"""JWT access tokens (RFC 9068): a resource server validates them with PyJWT against /jwks, checking ``typ``
as §4 says; Gatepass's own userinfo, document API and introspection accept them, refuse them once revoked
or expired, and refuse any JWT that is not one of them (another key, alg none, typ JWT).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flows_support import obtain_tokens

from support.backchannel import INACTIVE, Backchannel
from support.clock_server import ClockServer
from support.provision import provision
from support.server import LiveServer

SCOPE = "openid profile email roles all"


def _parties(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A user with a role, an app and a service client that issue JWT access tokens, and a resource server."""
    users, clients = provision(
        server,
        {
            "jane": {"first_name": "Jane", "last_name": "Jotter", "roles": ("JWT Reader",)},
            "bot": {"first_name": "Jwt", "last_name": "Bot", "roles": ("JWT Reader",)},
        },
        lambda users: {
            "app": ("--name", "JWT App", "--access-token-format", "jwt"),
            "service": (
                *("--name", "JWT Service", "--grant-type", "client_credentials", "--access-token-format", "jwt"),
                *("--service-user", users["bot"]["email"], "--scope", "all", "--scope", "roles"),
            ),
            "rs": ("--name", "JWT Resource Server", "--grant-type", "client_credentials", "--resource-server"),
        },
        roles=("JWT Reader",),
    )
    return users["jane"], clients["app"], clients["service"], clients["rs"]


def _resource_server_reads(server: LiveServer, token: str) -> dict[str, Any]:
    """What a resource server does (RFC 9068 §4): the key from the JWKS by kid, typ at+jwt, iss, aud, exp."""
    keys = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json", cache_jwk_set=False)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    claims: dict[str, Any] = jwt.decode(
        token,
        keys.get_signing_key_from_jwt(token).key,
        algorithms=["RS256"],
        issuer=server.url,
        audience=f"{server.url}/api/resource",
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti", "client_id"]},
    )
    return claims


async def _client_credentials(http: httpx.AsyncClient, server: LiveServer, client: dict[str, Any]) -> str:
    answer = await http.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def _userinfo(http: httpx.AsyncClient, server: LiveServer, token: str) -> httpx.Response:
    return await http.get(f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})


async def _documents(http: httpx.AsyncClient, server: LiveServer, token: str) -> httpx.Response:
    return await http.get(f"{server.url}/api/resource/ToDo", headers={"Authorization": f"Bearer {token}"})


def _refusal(answer: httpx.Response) -> tuple[int, str, str]:
    body = answer.json()
    return answer.status_code, body["error"], body["error_description"]


async def test_a_client_credentials_jwt_is_read_by_pyjwt_and_accepted_until_revoked(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    _, _, service, rs = _parties(server)
    token = await _client_credentials(http, server, service)

    claims = _resource_server_reads(server, token)
    # RFC 9068 §2.2: no resource owner, so sub is the client; its service user's roles, as the scope allows.
    assert (claims["sub"], claims["client_id"], claims["scope"], claims["roles"]) == (
        service["client_id"],
        service["client_id"],
        "all roles",
        ["JWT Reader"],
    )
    assert "auth_time" not in claims
    assert claims["exp"] - claims["iat"] == 3600
    assert (await _documents(http, server, token)).status_code == 200
    api = Backchannel(http, server)
    seen = await api.introspect(rs, token)
    assert (seen["active"], seen["client_id"], seen["scope"], seen["aud"]) == (
        True,
        service["client_id"],
        "all roles",
        f"{server.url}/api/resource",
    )

    assert (await api.revoke(service, token)).status_code == 200
    assert _refusal(await _documents(http, server, token)) == (
        401,
        "invalid_token",
        "The access token has been revoked",
    )
    assert await api.introspect(rs, token) == INACTIVE
    # Another token of the same client is not touched by that revocation.
    assert (await _documents(http, server, await _client_credentials(http, server, service))).status_code == 200


async def test_a_users_jwt_carries_auth_time_and_roles_and_a_refresh_mints_a_new_one(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    user, app, _, rs = _parties(server)
    api = Backchannel(http, server)
    tokens = await obtain_tokens(api, user, app, scope=SCOPE)

    claims = _resource_server_reads(server, tokens["access_token"])
    assert (claims["sub"], claims["client_id"], claims["scope"], claims["roles"]) == (
        user["sub"],
        app["client_id"],
        SCOPE,
        ["JWT Reader"],
    )
    assert isinstance(claims["auth_time"], int)
    userinfo = await _userinfo(http, server, tokens["access_token"])
    assert (userinfo.status_code, userinfo.json()["sub"]) == (200, user["sub"])
    assert (await _documents(http, server, tokens["access_token"])).status_code == 200
    seen = await api.introspect(rs, tokens["access_token"])
    assert (seen["active"], seen["sub"], seen["username"]) == (True, user["sub"], user["email"])

    refreshed = await api.refreshed(app, tokens["refresh_token"])
    new_claims = _resource_server_reads(server, refreshed["access_token"])
    assert new_claims["jti"] != claims["jti"]
    assert (new_claims["sub"], new_claims["auth_time"]) == (user["sub"], claims["auth_time"])
    assert (await _userinfo(http, server, refreshed["access_token"])).status_code == 200
    # Rotation retires the earlier access token, as it does an opaque one.
    assert await api.introspect(rs, tokens["access_token"]) == INACTIVE

    # Revoking the refresh token revokes the grant, and with it the JWT it minted.
    assert (await api.revoke(app, refreshed["refresh_token"])).status_code == 200
    assert _refusal(await _userinfo(http, server, refreshed["access_token"])) == (
        401,
        "invalid_token",
        "The access token has been revoked",
    )
    assert await api.introspect(rs, refreshed["access_token"]) == INACTIVE


async def test_frappes_revoke_token_revokes_a_jwt_and_its_grant(server: LiveServer, http: httpx.AsyncClient) -> None:
    user, app, _, rs = _parties(server)
    api = Backchannel(http, server)
    tokens = await obtain_tokens(api, user, app, scope=SCOPE)
    assert (await api.frappe().revoke(app, tokens["access_token"])).status_code == 200
    assert _refusal(await _documents(http, server, tokens["access_token"])) == (
        401,
        "invalid_token",
        "The access token has been revoked",
    )
    # As for an opaque token, the whole grant goes with it: the refresh token too.
    assert await api.introspect(rs, tokens["refresh_token"]) == INACTIVE


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_jwt_not_signed_by_a_published_key_or_not_typed_at_jwt_is_refused(
    sqlite_server: LiveServer, http: httpx.AsyncClient
) -> None:
    server = sqlite_server
    user, app, service, rs = _parties(server)
    genuine = await _client_credentials(http, server, service)
    header, claims = jwt.get_unverified_header(genuine), jwt.decode(genuine, options={"verify_signature": False})
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # The same claims and kid, signed by a key Gatepass never published.
    foreign = jwt.encode(claims, foreign_key, algorithm="RS256", headers={"kid": header["kid"], "typ": "at+jwt"})
    unsigned = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(claims)}."
    # An id_token is signed with the same published key, but says typ JWT: it is not an access token.
    id_token = (await obtain_tokens(Backchannel(http, server), user, app, scope=SCOPE))["id_token"]
    api = Backchannel(http, server)
    for token in (foreign, unsigned, "not.a.jwt"):
        assert _refusal(await _documents(http, server, token)) == (
            401,
            "invalid_token",
            "The access token is not a JWT signed with a key this server publishes",
        )
        assert await api.introspect(rs, token) == INACTIVE
    assert _refusal(await _userinfo(http, server, id_token)) == (
        401,
        "invalid_token",
        "The access token is a JWT whose typ is not at+jwt",
    )
    assert await api.introspect(rs, id_token) == INACTIVE
    assert (await _documents(http, server, genuine)).status_code == 200


async def test_an_expired_jwt_is_refused(clock_server: ClockServer, http: httpx.AsyncClient) -> None:
    user, app, service, rs = _parties(clock_server)
    api = Backchannel(http, clock_server)
    token = await _client_credentials(http, clock_server, service)
    users_token = (await obtain_tokens(api, user, app, scope=SCOPE))["access_token"]
    assert (await _documents(http, clock_server, token)).status_code == 200

    clock_server.clock.advance(seconds=3601)
    expired = (401, "invalid_token", "The access token has expired; use the refresh token to get a new one")
    assert _refusal(await _documents(http, clock_server, token)) == expired
    assert _refusal(await _userinfo(http, clock_server, users_token)) == expired
    assert await api.introspect(rs, token) == INACTIVE


@pytest.mark.parametrize(
    ("backend", "read_cache"), [("sqlite", "auto"), ("sqlite", "off"), ("postgresql", "auto")], ids=lambda v: v
)
async def test_a_revoked_jwt_is_refused_by_every_worker(start_server, backend: str, read_cache: str) -> None:  # type: ignore[no-untyped-def]
    # With the cache on (auto), each worker holds the token's standing until it hears of the revocation: through
    # the node's change stamp on SQLite, through LISTEN/NOTIFY on PostgreSQL.
    server: LiveServer = start_server(backend, GATEPASS_SERVER_WORKERS="2", GATEPASS_DATABASE_READ_CACHE=read_cache)
    _, _, service, _ = _parties(server)
    rounds = 20

    async def statuses(token: str) -> list[int]:
        # A new connection per request, so the kernel spreads them over both workers.
        async with httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_keepalive_connections=0)) as fresh:
            return [(await _documents(fresh, server, token)).status_code for _ in range(rounds)]

    async with httpx.AsyncClient(timeout=15) as http:
        token = await _client_credentials(http, server, service)
        assert await statuses(token) == [200] * rounds
        assert (await Backchannel(http, server).revoke(service, token)).status_code == 200
    assert await statuses(token) == [401] * rounds


async def test_dynamic_registration_takes_the_access_token_format(
    sqlite_open_registration_server: LiveServer, http: httpx.AsyncClient
) -> None:
    server = sqlite_open_registration_server
    metadata = {"client_name": "Signed Tokens App", "redirect_uris": ["https://app.example.com/callback"]}
    registered = await http.post(server.url + "/oauth/register", json={**metadata, "access_token_format": "jwt"})
    assert registered.status_code == 201, registered.text
    assert registered.json()["access_token_format"] == "jwt"
    shown = json.loads(server.cli("client", "show", registered.json()["client_id"], "--json").stdout)
    assert shown["access_token_format"] == "jwt"
    # Left out, the client follows the server's default, and the answer says nothing of it.
    plain = await http.post(server.url + "/oauth/register", json=metadata)
    assert plain.status_code == 201, plain.text
    assert "access_token_format" not in plain.json()

    refused = await http.post(server.url + "/oauth/register", json={**metadata, "access_token_format": "paseto"})
    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "invalid_client_metadata", "error_description": "access_token_format must be one of opaque, jwt"},
    )
