"""Token exchange (RFC 8693) between two real services: a front service holds a user's token from the
authorization code flow and exchanges it, with Authlib's client, for a token to a downstream audience;
the downstream service introspects it, and the document API serves it as the user. Delegation names the
actor (``act``); everything a policy does not allow is refused with the RFC's error.

The servers read a clock the tests move, so a subject token's expiry takes no waiting.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flows_support import AsyncOAuth2Client, obtain_tokens

from support.backchannel import SSL_CONTEXT, TOKEN, Backchannel, assert_oauth_error
from support.clock_server import ClockServer
from support.provision import World, client_credentials_token, provision
from support.rows import audit_events

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
JWT = "urn:ietf:params:oauth:token-type:jwt"
DOWNSTREAM = "https://orders.example.com/api"


@pytest.fixture(scope="module")
def exchange_world(clock_server: ClockServer) -> Iterator[World]:
    """A front service with two policies: the document API (as the user, or for the shop acting) and the
    downstream orders service (only for the shop acting, and only scope all)."""
    users, clients = provision(
        clock_server,
        {"ada": {"first_name": "Ada", "last_name": "Front"}, "robot": {"first_name": "Shop", "last_name": "Robot"}},
        lambda made: {
            "front": ("--name", "Front Service"),
            # The same kind of service, issuing RFC 9068 JWT access tokens.
            "jwt_front": ("--name", "JWT Front Service", "--access-token-format", "jwt"),
            "other": ("--name", "Other Web App"),
            "shop": (
                *("--name", "Shop Backend", "--grant-type", "client_credentials", "--scope", "all"),
                *("--service-user", made["robot"]["email"]),
            ),
            "orders": ("--name", "Orders Service", "--grant-type", "client_credentials", "--resource-server"),
            "spa": ("--name", "Browser App", "--public"),
            "no_policy": ("--name", "Exchanger Without Policy", "--grant-type", "authorization_code"),
            "pairwise": ("--name", "Pairwise Front Service", "--subject-type", "pairwise"),
        },
    )
    front, shop = clients["front"]["client_id"], clients["shop"]["client_id"]
    api_resource = f"{clock_server.url}/api/resource"
    clock_server.cli(
        *("exchange-policy", "add", front, "--audience", api_resource, "--impersonation", "--actor", shop),
        *("--subject-token-type", "access_token", "--subject-token-type", "id_token"),
        *("--scope", "openid", "--scope", "profile", "--scope", "all"),
    )
    clock_server.cli("exchange-policy", "add", front, "--audience", DOWNSTREAM, "--actor", shop, "--scope", "all")
    clock_server.cli(
        *("exchange-policy", "add", clients["jwt_front"]["client_id"], "--audience", api_resource, "--actor", shop),
        *("--subject-token-type", "jwt", "--scope", "all"),
    )
    clock_server.cli(
        *("exchange-policy", "add", clients["pairwise"]["client_id"], "--audience", api_resource, "--impersonation"),
        *("--subject-token-type", "id_token", "--subject-token-type", "access_token", "--scope", "all"),
    )
    clock_server.cli(
        "client",
        "update",
        clients["no_policy"]["client_id"],
        "--grant-type",
        "authorization_code",
        "--grant-type",
        EXCHANGE,
    )
    yield World(clock_server, users, clients)


@pytest.fixture
def exchange_api(exchange_world: World, http: httpx.AsyncClient) -> Backchannel:
    return Backchannel(http, exchange_world.server)


def _server(world: World) -> ClockServer:
    assert isinstance(world.server, ClockServer)
    return world.server


async def _user_token(world: World, api: Backchannel, *, scope: str = "openid profile email all") -> dict[str, Any]:
    """Ada's tokens at the front service, through the real authorization code flow."""
    return await obtain_tokens(api, world.user("ada"), world.client("front"), scope=scope)


async def _exchange(api: Backchannel, client: dict[str, Any], subject_token: str, **extra: str) -> httpx.Response:
    form = {"grant_type": EXCHANGE, "subject_token": subject_token, "subject_token_type": ACCESS_TOKEN, **extra}
    return await api.token(client, **form)


async def test_front_service_exchanges_the_users_token_for_the_document_api_with_authlib(
    exchange_world: World, exchange_api: Backchannel
) -> None:
    server, front, ada = exchange_world.server, exchange_world.client("front"), exchange_world.user("ada")
    user_tokens = await _user_token(exchange_world, exchange_api)
    async with AsyncOAuth2Client(
        verify=SSL_CONTEXT,
        client_id=front["client_id"],
        client_secret=front["client_secret"],
        token_endpoint_auth_method="client_secret_basic",
    ) as oauth:
        exchanged = await oauth.fetch_token(
            server.url + TOKEN,
            grant_type=EXCHANGE,
            subject_token=user_tokens["access_token"],
            subject_token_type=ACCESS_TOKEN,
            audience=f"{server.url}/api/resource",
            scope="openid all",
        )
    assert (exchanged["issued_token_type"], exchanged["token_type"], exchanged["scope"]) == (
        ACCESS_TOKEN,
        "Bearer",
        "openid all",
    )
    assert "refresh_token" not in exchanged and "id_token" not in exchanged
    assert 0 < exchanged["expires_in"] <= user_tokens["expires_in"]
    assert exchanged["access_token"] != user_tokens["access_token"]

    # The downstream service (a resource server) introspects it: Ada, through the front service, no actor.
    seen = await exchange_api.introspect(exchange_world.client("orders"), exchanged["access_token"])
    assert (seen["active"], seen["sub"], seen["client_id"], seen["aud"], seen["scope"]) == (
        True,
        ada["sub"],
        front["client_id"],
        f"{server.url}/api/resource",
        "openid all",
    )
    assert "act" not in seen

    # The document API and userinfo serve it as Ada, within its scopes.
    headers = {"Authorization": f"Bearer {exchanged['access_token']}"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        created = await http.post("/api/resource/ToDo", headers=headers, json={"description": "exchanged"})
        assert created.status_code == 200, created.text
        name = created.json()["data"]["name"]
        mine = await http.get(
            f"/api/resource/ToDo/{name}", headers={"Authorization": f"Bearer {user_tokens['access_token']}"}
        )
        assert (mine.status_code, mine.json()["data"]["owner"]) == (200, ada["email"])
        userinfo = await http.get("/oauth/userinfo", headers=headers)
        assert userinfo.json()["sub"] == ada["sub"]
        assert "email" not in userinfo.json()  # email was not exchanged

    recorded = [detail for _, _, detail in audit_events(server, "token.exchanged")]
    assert {
        "audience": f"{server.url}/api/resource",
        "subject_client_id": front["client_id"],
        "actor_client_id": None,
    }.items() <= recorded[-1].items()


async def test_delegation_names_the_actor_in_act_and_the_document_api_refuses_another_audience(
    exchange_world: World, exchange_api: Backchannel
) -> None:
    server, front, shop = exchange_world.server, exchange_world.client("front"), exchange_world.client("shop")
    user_tokens = await _user_token(exchange_world, exchange_api)
    actor_token = client_credentials_token(server, shop, "all")
    response = await _exchange(
        exchange_api,
        front,
        user_tokens["access_token"],
        audience=DOWNSTREAM,
        actor_token=actor_token,
        actor_token_type=ACCESS_TOKEN,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["scope"], body["issued_token_type"]) == ("all", ACCESS_TOKEN)

    seen = await exchange_api.introspect(exchange_world.client("orders"), body["access_token"])
    assert (seen["sub"], seen["aud"]) == (exchange_world.user("ada")["sub"], DOWNSTREAM)
    assert seen["act"] == {"sub": exchange_world.user("robot")["sub"], "client_id": shop["client_id"]}

    # Bound to the orders service, the token is no good at the document API.
    async with httpx.AsyncClient(base_url=server.url) as http:
        refused = await http.get("/api/resource/ToDo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert refused.status_code == 401
    assert "another resource" in refused.headers["www-authenticate"]

    # Exchanged again, for the document API, as the same delegation: the earlier actor is nested.
    again = await _exchange(
        exchange_api,
        front,
        body["access_token"],
        resource=f"{server.url}/api/resource",
        actor_token=actor_token,
        actor_token_type=ACCESS_TOKEN,
    )
    assert again.status_code == 200, again.text
    nested = await exchange_api.introspect(exchange_world.client("orders"), again.json()["access_token"])
    assert nested["act"] == {**seen["act"], "act": seen["act"]}

    recorded = [detail for _, _, detail in audit_events(server, "token.exchanged")]
    assert any(
        detail["audience"] == DOWNSTREAM and detail["actor_client_id"] == shop["client_id"] for detail in recorded
    )


async def test_an_id_token_of_this_server_is_exchanged_for_an_access_token_of_its_user(
    exchange_world: World, exchange_api: Backchannel
) -> None:
    user_tokens = await _user_token(exchange_world, exchange_api)
    response = await exchange_api.token(
        exchange_world.client("front"),
        grant_type=EXCHANGE,
        subject_token=user_tokens["id_token"],
        subject_token_type=ID_TOKEN,
        scope="all",
    )
    # With two policies, the audience must be named.
    assert_oauth_error(response, 400, "invalid_target", f"Name the audience (audience or resource): one of "
                       f"{exchange_world.server.url}/api/resource, {DOWNSTREAM}")  # fmt: skip
    response = await exchange_api.token(
        exchange_world.client("front"),
        grant_type=EXCHANGE,
        subject_token=user_tokens["id_token"],
        subject_token_type=ID_TOKEN,
        audience=f"{exchange_world.server.url}/api/resource",
        scope="all",
    )
    assert response.status_code == 200, response.text
    seen = await exchange_api.introspect(exchange_world.client("orders"), response.json()["access_token"])
    assert (seen["sub"], seen["scope"]) == (exchange_world.user("ada")["sub"], "all")


async def test_the_exchanged_token_never_outlives_the_subject_token_and_survives_its_revocation(
    exchange_world: World, exchange_api: Backchannel
) -> None:
    server, front, orders = _server(exchange_world), exchange_world.client("front"), exchange_world.client("orders")
    user_tokens = await _user_token(exchange_world, exchange_api)
    subject_seen = await exchange_api.introspect(orders, user_tokens["access_token"])
    server.clock.advance(seconds=user_tokens["expires_in"] - 100)
    response = await _exchange(exchange_api, front, user_tokens["access_token"], audience=f"{server.url}/api/resource")
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] <= 100
    exchanged_seen = await exchange_api.introspect(orders, response.json()["access_token"])
    assert exchanged_seen["exp"] <= subject_seen["exp"]

    # Revoking the subject token leaves the exchanged one to its (shorter) life: it is a grant of its own.
    assert (await exchange_api.revoke(front, user_tokens["access_token"])).status_code == 200
    assert (await exchange_api.introspect(orders, user_tokens["access_token"]))["active"] is False
    assert (await exchange_api.introspect(orders, response.json()["access_token"]))["active"] is True
    refused = await _exchange(exchange_api, front, user_tokens["access_token"], audience=f"{server.url}/api/resource")
    assert_oauth_error(
        refused, 400, "invalid_request", "The subject_token is not usable: The access token has been revoked"
    )


async def test_an_expired_subject_token_is_refused(exchange_world: World, exchange_api: Backchannel) -> None:
    server = _server(exchange_world)
    user_tokens = await _user_token(exchange_world, exchange_api)
    server.clock.advance(seconds=user_tokens["expires_in"] + 1)
    response = await _exchange(
        exchange_api, exchange_world.client("front"), user_tokens["access_token"], audience=DOWNSTREAM
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"].startswith(
        "The subject_token is not usable: The access token has expired"
    )


async def test_scope_beyond_the_subject_token_or_the_policy_is_invalid_scope(
    exchange_world: World, exchange_api: Backchannel
) -> None:
    front, api_resource = exchange_world.client("front"), f"{exchange_world.server.url}/api/resource"
    narrow = await _user_token(exchange_world, exchange_api, scope="openid email")
    response = await _exchange(exchange_api, front, narrow["access_token"], audience=api_resource, scope="openid all")
    assert_oauth_error(response, 400, "invalid_scope", "scope 'all' is beyond what the subject token was granted")
    response = await _exchange(exchange_api, front, narrow["access_token"], audience=api_resource, scope="email")
    assert_oauth_error(
        response, 400, "invalid_scope", f"scope 'email' is not allowed by the policy for '{api_resource}'"
    )
    # With no scope asked for: what the subject token and the policy share (openid, not email).
    response = await _exchange(exchange_api, front, narrow["access_token"], audience=api_resource)
    assert (response.status_code, response.json()["scope"]) == (200, "openid")


async def test_what_no_policy_allows_is_refused(exchange_world: World, exchange_api: Backchannel) -> None:
    server, front = exchange_world.server, exchange_world.client("front")
    user_tokens = await _user_token(exchange_world, exchange_api)
    subject = user_tokens["access_token"]

    # A client with the grant but no policy, and one without the grant.
    response = await _exchange(exchange_api, exchange_world.client("no_policy"), subject)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert response.json()["error_description"].startswith("No token exchange policy allows this client")
    response = await _exchange(exchange_api, exchange_world.client("other"), subject)
    assert_oauth_error(response, 400, "unauthorized_client", f"This client is not allowed to use the {EXCHANGE} grant")

    # An audience the front service has no policy for.
    response = await _exchange(exchange_api, front, subject, audience="https://payroll.example.com")
    assert_oauth_error(
        response,
        400,
        "invalid_target",
        f"This client may not exchange tokens for 'https://payroll.example.com'; it may for "
        f"{server.url}/api/resource, {DOWNSTREAM}",
    )
    # The orders policy allows delegation only: no impersonation, and only the shop acts.
    response = await _exchange(exchange_api, front, subject, audience=DOWNSTREAM)
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        f"The policy for '{DOWNSTREAM}' allows delegation only: send the actor's token as actor_token",
    )
    response = await _exchange(
        exchange_api, front, subject, audience=DOWNSTREAM, actor_token=subject, actor_token_type=ACCESS_TOKEN
    )
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        f"The policy for '{DOWNSTREAM}' does not allow client '{front['client_id']}' to act for the user",
    )
    # An id_token is exchangeable for the document API only.
    response = await _exchange(
        exchange_api,
        front,
        user_tokens["id_token"],
        audience=DOWNSTREAM,
        subject_token_type=ID_TOKEN,
        actor_token=client_credentials_token(server, exchange_world.client("shop")),
        actor_token_type=ACCESS_TOKEN,
    )
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        f"The policy for '{DOWNSTREAM}' does not allow exchanging a subject token of type {ID_TOKEN}",
    )


async def test_tokens_of_other_clients_foreign_or_garbage_tokens_and_wrong_types_are_refused(
    exchange_world: World, exchange_api: Backchannel
) -> None:
    front, api_resource = exchange_world.client("front"), f"{exchange_world.server.url}/api/resource"
    # Ada's token at another app: the front service may exchange only tokens issued to itself.
    others = await obtain_tokens(exchange_api, exchange_world.user("ada"), exchange_world.client("other"))
    response = await _exchange(exchange_api, front, others["access_token"], audience=api_resource)
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        f"The policy for '{api_resource}' does not allow exchanging tokens issued to client "
        f"'{exchange_world.client('other')['client_id']}'",
    )
    response = await _exchange(exchange_api, front, secrets.token_urlsafe(32), audience=api_resource)
    assert_oauth_error(response, 400, "invalid_request", "The subject_token is not usable: The access token is invalid")
    # An id_token that another issuer signed, with our issuer's name and Ada's sub in it.
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {"iss": exchange_world.server.url, "sub": exchange_world.user("ada")["sub"], "aud": front["client_id"]}
        | {"exp": 4102444800, "iat": 1700000000},
        foreign_key,
        algorithm="RS256",
        headers={"kid": "not-ours"},
    )
    response = await _exchange(exchange_api, front, forged, audience=api_resource, subject_token_type=ID_TOKEN)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert response.json()["error_description"] == "The subject_token is not a valid, unexpired id_token of this server"
    # An access token sent as an id_token, and a type this server does not exchange.
    user_tokens = await _user_token(exchange_world, exchange_api)
    response = await _exchange(
        exchange_api, front, user_tokens["access_token"], audience=api_resource, subject_token_type=ID_TOKEN
    )
    assert response.json()["error_description"] == "The subject_token is not a valid, unexpired id_token of this server"
    saml = "urn:ietf:params:oauth:token-type:saml2"
    response = await _exchange(exchange_api, front, user_tokens["access_token"], subject_token_type=saml)
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"subject_token_type '{saml}' is not one this server exchanges; use "
        f"{ACCESS_TOKEN} or urn:ietf:params:oauth:token-type:jwt or {ID_TOKEN}",
    }
    response = await _exchange(
        exchange_api,
        front,
        user_tokens["access_token"],
        audience=api_resource,
        requested_token_type="urn:ietf:params:oauth:token-type:refresh_token",
    )
    assert response.json()["error"] == "invalid_request"
    response = await _exchange(exchange_api, front, user_tokens["access_token"], actor_token="x")
    assert_oauth_error(
        response, 400, "invalid_request", "actor_token and actor_token_type go together: send both or neither"
    )


async def test_a_public_client_cannot_exchange(exchange_world: World, exchange_api: Backchannel) -> None:
    server, spa = exchange_world.server, exchange_world.client("spa")
    refused = server.cli("exchange-policy", "add", spa["client_id"], "--audience", DOWNSTREAM, "--impersonation",
                         "--scope", "all", check=False)  # fmt: skip
    assert refused.returncode == 2
    assert "A public client cannot exchange tokens" in refused.stderr
    refused = server.cli("client", "update", spa["client_id"], "--grant-type", EXCHANGE, check=False)
    assert "A public client cannot use token exchange" in refused.stderr
    spa_tokens = await obtain_tokens(exchange_api, exchange_world.user("ada"), spa)
    response = await _exchange(exchange_api, spa, spa_tokens["access_token"])
    assert_oauth_error(response, 400, "unauthorized_client", f"This client is not allowed to use the {EXCHANGE} grant")


async def test_policies_are_listed_and_removed_with_the_cli(exchange_world: World, exchange_api: Backchannel) -> None:
    server, front = exchange_world.server, exchange_world.client("front")
    audience = f"https://reports-{secrets.token_hex(3)}.example.com"
    server.cli(
        "exchange-policy", "add", front["client_id"], "--audience", audience, "--impersonation", "--scope", "all"
    )
    listed = json.loads(server.cli("exchange-policy", "list", "--json").stdout)
    assert {
        "client_id": front["client_id"],
        "audience": audience,
        "subject_token_types": ["access_token"],
        "subject_clients": [front["client_id"]],
        "actors": [],
        "impersonation": True,
        "scope": "all",
    } in listed
    twice = server.cli(
        *("exchange-policy", "add", front["client_id"], "--audience", audience, "--impersonation", "--scope", "all"),
        check=False,
    )
    assert (twice.returncode, twice.stderr.strip()) == (
        2,
        f"Error: A policy of client '{front['client_id']}' for '{audience}' already exists",
    )
    for refused_args, message in (
        (("--scope", "all"), "Name the actor clients that may act for the user, or allow impersonation"),
        (("--impersonation", "--scope", "all", "--actor", "nobody"), "No client is registered with client_id 'nobody'"),
        (("--impersonation", "--scope", "all all"), "Name each scope the exchanged tokens may have, once"),
    ):
        refused = server.cli(
            "exchange-policy", "add", front["client_id"], "--audience", "https://x.example.com", *refused_args,
            check=False,
        )  # fmt: skip
        assert (refused.returncode, refused.stderr.strip()) == (2, f"Error: {message}")
    user_tokens = await _user_token(exchange_world, exchange_api)
    assert (await _exchange(exchange_api, front, user_tokens["access_token"], audience=audience)).status_code == 200
    server.cli("exchange-policy", "remove", front["client_id"], "--audience", audience)
    response = await _exchange(exchange_api, front, user_tokens["access_token"], audience=audience)
    assert response.json()["error"] == "invalid_target"
    again = server.cli("exchange-policy", "remove", front["client_id"], "--audience", audience, check=False)
    assert (again.returncode, again.stderr.strip()) == (
        2,
        f"Error: Client {front['client_id']} has no token exchange policy for {audience}",
    )


async def test_discovery_lists_the_token_exchange_grant(exchange_world: World) -> None:
    async with httpx.AsyncClient() as http:
        for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
            metadata = (await http.get(exchange_world.server.url + path)).json()
            assert EXCHANGE in metadata["grant_types_supported"]


async def test_a_jwt_access_token_is_exchanged_for_a_jwt_that_names_its_actor(
    exchange_world: World, exchange_api: Backchannel
) -> None:
    """A service issuing RFC 9068 tokens: the subject is a JWT (type jwt), and so is the exchanged token, whose
    act claim a resource server reads from the token itself, checked against the JWKS."""
    server, jwt_front, shop = exchange_world.server, exchange_world.client("jwt_front"), exchange_world.client("shop")
    user_tokens = await obtain_tokens(exchange_api, exchange_world.user("ada"), jwt_front, scope="openid all")
    keys = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json", cache_jwk_set=False)

    def verified(token: str) -> dict[str, Any]:
        assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
        claims: dict[str, Any] = jwt.decode(
            token,
            keys.get_signing_key_from_jwt(token).key,
            algorithms=["RS256"],
            issuer=server.url,
            audience=f"{server.url}/api/resource",
            # The server's clock was moved ahead of this process's by the tests before.
            options={"require": ["exp", "iat", "sub", "jti", "client_id"], "verify_iat": False},
        )
        return claims

    subject_claims = verified(user_tokens["access_token"])
    response = await _exchange(
        exchange_api,
        jwt_front,
        user_tokens["access_token"],
        subject_token_type=JWT,
        actor_token=client_credentials_token(server, shop, "all"),
        actor_token_type=ACCESS_TOKEN,
    )
    assert response.status_code == 200, response.text
    exchanged = verified(response.json()["access_token"])
    robot = exchange_world.user("robot")
    assert (exchanged["sub"], exchanged["scope"], exchanged["act"]) == (
        exchange_world.user("ada")["sub"],
        "all",
        {"sub": robot["sub"], "client_id": shop["client_id"]},
    )
    assert exchanged["exp"] <= subject_claims["exp"]
    seen = await exchange_api.introspect(exchange_world.client("orders"), response.json()["access_token"])
    assert (seen["active"], seen["act"]) == (True, exchanged["act"])
    # An opaque token is not of type jwt.
    refused = await _exchange(exchange_api, jwt_front, secrets.token_urlsafe(32), subject_token_type=JWT)
    assert_oauth_error(refused, 400, "invalid_request", f"The subject_token is not a JWT, as its type {JWT} says")


async def test_an_id_token_with_a_pairwise_subject_is_refused_and_its_access_token_exchanged(
    exchange_world: World, exchange_api: Backchannel
) -> None:
    pairwise = exchange_world.client("pairwise")
    user_tokens = await obtain_tokens(exchange_api, exchange_world.user("ada"), pairwise, scope="openid all")
    refused = await _exchange(exchange_api, pairwise, user_tokens["id_token"], subject_token_type=ID_TOKEN)
    assert_oauth_error(
        refused,
        400,
        "invalid_request",
        "The subject_token is an id_token with a pairwise subject, which cannot be exchanged; "
        "exchange the access token issued with it",
    )
    response = await _exchange(exchange_api, pairwise, user_tokens["access_token"])
    assert response.status_code == 200, response.text
    # Introspected by the client itself, it is told the same pairwise sub as in its id_token.
    seen = await exchange_api.introspect(pairwise, response.json()["access_token"])
    id_token_sub = jwt.decode(user_tokens["id_token"], options={"verify_signature": False})["sub"]
    assert (seen["sub"], seen["scope"]) == (id_token_sub, "all")
    assert id_token_sub != exchange_world.user("ada")["sub"]
