"""DPoP (RFC 9449) over real HTTP with proofs made by joserfc: tokens bound to the client's key at the token
endpoint, used at userinfo, the document API and introspection with fresh proofs, and every proof a client
could get wrong refused with the error and challenge the RFC names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from dpop_support import ALGS, TOKEN, USERINFO, DpopKey, hs256_proof, token_request, userinfo

from support.backchannel import Backchannel
from support.browser import code_request, logged_in
from support.pkce import Pkce
from support.provision import World
from support.server import REDIRECT_URI, LiveServer

DPOP_CHALLENGE = 'DPoP realm="{realm}", error="{error}", error_description="{description}", algs="' + ALGS + '"'


async def dpop_tokens(
    http: httpx.AsyncClient,
    world: World,
    client: Mapping[str, Any],
    key: DpopKey,
    *,
    scope: str = "openid profile email all",
    **authorization: str,
) -> dict[str, Any]:
    """alice allows ``client``, which redeems the code with a proof by ``key``: the token response."""
    server = world.server
    pkce = Pkce.new()
    browser = await logged_in(server, world.user("alice"))
    code = (await browser.authorize(code_request(client, pkce, scope=scope, **authorization))).code
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pkce.verifier,
    }
    response = await token_request(http, server, client, data, proof=key.proof("POST", server.url + TOKEN))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_dpop_refusal(response: httpx.Response, server: LiveServer, error: str, description: str) -> None:
    """RFC 9449 §7.1: a resource's 401 with the DPoP challenge naming the algs it accepts."""
    assert (response.status_code, response.json()) == (401, {"error": error, "error_description": description})
    challenge = DPOP_CHALLENGE.format(realm=server.url, error=error, description=description)
    assert response.headers["www-authenticate"] == challenge


async def test_a_code_redeemed_with_a_proof_gives_a_dpop_token_for_userinfo_introspection_and_the_api(
    world: World, http: httpx.AsyncClient, api: Backchannel
) -> None:
    server, key = world.server, DpopKey.new()
    tokens = await dpop_tokens(http, world, world.client("spa"), key)
    assert tokens["token_type"] == "DPoP"
    access = tokens["access_token"]

    answer = await userinfo(http, server, access, proof=key.proof("GET", server.url + USERINFO, access_token=access))
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == world.user("alice")["email"]
    assert "dpop-nonce" not in answer.headers  # this server does not require nonces

    documents = f"{server.url}/api/resource/ToDo"
    listed = await http.get(
        documents + "?limit=1",
        headers={"Authorization": f"DPoP {access}", "DPoP": key.proof("GET", documents, access_token=access)},
    )
    assert listed.status_code == 200, listed.text
    assert "dpop-nonce" not in listed.headers

    # RFC 9449 §6.2: introspection tells a resource server which key the token is bound to.
    introspected = await api.introspect(world.client("rs"), access)
    assert (introspected["active"], introspected["token_type"], introspected["cnf"]) == (True, "DPoP", {"jkt": key.jkt})


async def test_a_replayed_proof_is_refused_on_its_second_use(world: World, http: httpx.AsyncClient) -> None:
    server, key = world.server, DpopKey.new()
    access = (await dpop_tokens(http, world, world.client("spa"), key))["access_token"]
    proof = key.proof("GET", server.url + USERINFO, access_token=access)
    assert (await userinfo(http, server, access, proof=proof)).status_code == 200
    replayed = await userinfo(http, server, access, proof=proof)
    assert_dpop_refusal(
        replayed,
        server,
        "invalid_dpop_proof",
        "This DPoP proof was used before: make a new proof, with a new jti, for each request",
    )


@pytest.mark.parametrize(
    ("method", "path", "description"),
    [
        ("GET", "/oauth/token", "The DPoP proof's htu must be the URL it is sent to, {url}/oauth/userinfo"),
        ("POST", "/oauth/userinfo", "The DPoP proof's htm must be the request's method, GET"),
    ],
    ids=["another URL", "another method"],
)
async def test_a_proof_made_for_another_request_is_refused(
    world: World, http: httpx.AsyncClient, method: str, path: str, description: str
) -> None:
    server, key = world.server, DpopKey.new()
    access = (await dpop_tokens(http, world, world.client("spa"), key))["access_token"]
    answer = await userinfo(http, server, access, proof=key.proof(method, server.url + path, access_token=access))
    assert_dpop_refusal(answer, server, "invalid_dpop_proof", description.format(url=server.url))


async def test_the_query_of_the_url_is_left_out_of_the_comparison(world: World, http: httpx.AsyncClient) -> None:
    server, key = world.server, DpopKey.new()
    access = (await dpop_tokens(http, world, world.client("spa"), key))["access_token"]
    proof = key.proof("GET", server.url + USERINFO + "?ignored=1#fragment", access_token=access)
    answer = await http.get(
        server.url + USERINFO + "?other=2", headers={"Authorization": f"DPoP {access}", "DPoP": proof}
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("ath", "description"),
    [
        (None, "The DPoP proof needs ath: base64url of the SHA-256 of the access token"),
        ("wrong", "The DPoP proof's ath is not the hash of the access token sent with it"),
    ],
    ids=["missing ath", "wrong ath"],
)
async def test_a_proof_without_the_access_tokens_hash_is_refused(
    world: World, http: httpx.AsyncClient, ath: str | None, description: str
) -> None:
    server, key = world.server, DpopKey.new()
    access = (await dpop_tokens(http, world, world.client("spa"), key))["access_token"]
    proof = key.proof("GET", server.url + USERINFO, claims={"ath": ath})
    assert_dpop_refusal(await userinfo(http, server, access, proof=proof), server, "invalid_dpop_proof", description)


async def test_a_stale_proof_is_refused(world: World, http: httpx.AsyncClient) -> None:
    server, key = world.server, DpopKey.new()
    access = (await dpop_tokens(http, world, world.client("spa"), key))["access_token"]
    stale = key.proof("GET", server.url + USERINFO, access_token=access, iat=1_700_000_000)
    assert_dpop_refusal(
        await userinfo(http, server, access, proof=stale),
        server,
        "invalid_dpop_proof",
        "The DPoP proof's iat is not within 60 seconds of the server's time: make a new proof for each request",
    )


async def test_a_bound_token_sent_as_bearer_is_refused_with_the_dpop_challenge(
    world: World, http: httpx.AsyncClient
) -> None:
    server, key = world.server, DpopKey.new()
    access = (await dpop_tokens(http, world, world.client("spa"), key))["access_token"]
    description = "This access token is bound to a DPoP key: send it as Authorization: DPoP <token> with a DPoP proof"
    assert_dpop_refusal(
        await userinfo(http, server, access, scheme="Bearer", proof=None), server, "invalid_token", description
    )
    documents = f"{server.url}/api/resource/ToDo"
    listed = await http.get(documents, headers={"Authorization": f"Bearer {access}"})
    assert (listed.status_code, listed.json()["error"]) == (401, "invalid_token")
    assert listed.headers["www-authenticate"].startswith("DPoP ")


async def test_a_proof_by_another_key_than_the_tokens_is_refused(world: World, http: httpx.AsyncClient) -> None:
    server, key = world.server, DpopKey.new()
    access = (await dpop_tokens(http, world, world.client("spa"), key))["access_token"]
    other = DpopKey.new().proof("GET", server.url + USERINFO, access_token=access)
    assert_dpop_refusal(
        await userinfo(http, server, access, proof=other),
        server,
        "invalid_dpop_proof",
        "The DPoP proof is signed by another key than the one the access token is bound to",
    )


async def test_a_public_clients_refresh_token_needs_a_proof_by_the_same_key(
    world: World, http: httpx.AsyncClient
) -> None:
    server, client, key = world.server, world.client("spa"), DpopKey.new()
    tokens = await dpop_tokens(http, world, client, key)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    url = server.url + TOKEN
    stolen = await token_request(http, server, client, refresh, proof=DpopKey.new().proof("POST", url))
    assert (stolen.status_code, stolen.json()) == (
        400,
        {
            "error": "invalid_grant",
            "error_description": "This refresh token is bound to another DPoP key than the one that signed this proof",
        },
    )
    without = await token_request(http, server, client, refresh, proof=None)
    assert without.json()["error_description"] == (
        "This refresh token is bound to a DPoP key: send a DPoP proof signed with that key"
    )
    renewed = await token_request(http, server, client, refresh, proof=key.proof("POST", url))
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["token_type"] == "DPoP"
    # The new refresh token stays bound to the same key.
    again = {"grant_type": "refresh_token", "refresh_token": renewed.json()["refresh_token"]}
    assert (await token_request(http, server, client, again, proof=DpopKey.new().proof("POST", url))).status_code == 400


@pytest.mark.parametrize(
    ("make_proof", "description"),
    [
        (lambda url: hs256_proof("POST", url), "The DPoP proof must be signed with one of ES256, PS256, RS256, EdDSA"),
        (
            lambda url: (key := DpopKey.new()).proof("POST", url, header={"jwk": key.key.as_dict(private=True)}),
            "The DPoP proof's jwk must be a public key: it holds a private key's members",
        ),
        (
            lambda url: DpopKey.new().proof("POST", url, header={"typ": "JWT"}),
            "The DPoP proof's header must have typ dpop+jwt",
        ),
        (lambda url: "%%%.e30.c2ln", "The DPoP proof is not a JWT: its header is not base64url"),
    ],
    ids=["HS256", "private key in jwk", "typ JWT", "not a JWT"],
)
async def test_the_token_endpoint_refuses_a_bad_proof_with_400(
    world: World, http: httpx.AsyncClient, make_proof: Any, description: str
) -> None:
    server = world.server
    data = {"grant_type": "client_credentials", "scope": "all"}
    answer = await token_request(http, server, world.client("shop"), data, proof=make_proof(server.url + TOKEN))
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": "invalid_dpop_proof", "error_description": description},
    )


async def test_client_credentials_with_a_proof_gets_a_dpop_token(world: World, http: httpx.AsyncClient) -> None:
    server, key = world.server, DpopKey.new()
    data = {"grant_type": "client_credentials", "scope": "all"}
    answer = await token_request(http, server, world.client("shop"), data, proof=key.proof("POST", server.url + TOKEN))
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "DPoP"


async def test_a_code_requested_with_dpop_jkt_is_redeemed_only_with_that_keys_proof(
    world: World, http: httpx.AsyncClient
) -> None:
    key, other = DpopKey.new(), DpopKey.new()
    with pytest.raises(AssertionError, match="This code is bound to another DPoP key"):
        await dpop_tokens(http, world, world.client("web"), other, dpop_jkt=key.jkt)
    tokens = await dpop_tokens(http, world, world.client("web"), key, dpop_jkt=key.jkt)
    assert tokens["token_type"] == "DPoP"
