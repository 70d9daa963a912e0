"""Clients held to DPoP (RFC 9449 §5.2: dpop_bound_access_tokens, from the CLI or dynamic registration), and a
code bound to a key through a pushed authorization request (§10.1) with a proof or with dpop_jkt."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from device_support import DEVICE_GRANT, DeviceClient, decide, open_device_page, unique_address
from dpop_support import ALGS, TOKEN, DpopKey, token_request
from par_support import authorize_as_new_user, authorize_url, pushed_code_request

from support.browser import HttpBrowser
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.provision import World
from support.server import ADMIN_EMAIL, REDIRECT_URI, LiveServer

PAR = "/oauth/par"


async def test_a_client_registered_dpop_bound_must_send_a_proof(world: World, http: httpx.AsyncClient) -> None:
    server = world.server
    client = server.create_client(
        "--grant-type", "client_credentials", "--service-user", world.user("robot")["email"], "--dpop-bound"
    )
    shown = server.cli("client", "show", client["client_id"], "--json").stdout
    assert '"dpop_bound_access_tokens": true' in shown
    data = {"grant_type": "client_credentials", "scope": "all"}
    refused = await token_request(http, server, client, data, proof=None)
    assert (refused.status_code, refused.json()) == (
        400,
        {
            "error": "invalid_dpop_proof",
            "error_description": "This client must send a DPoP proof with every token request",
        },
    )
    granted = await token_request(http, server, client, data, proof=DpopKey.new().proof("POST", server.url + TOKEN))
    assert (granted.status_code, granted.json()["token_type"]) == (200, "DPoP")


async def test_dynamic_registration_takes_dpop_bound_access_tokens(
    sqlite_open_registration_server: LiveServer, http: httpx.AsyncClient
) -> None:
    server = sqlite_open_registration_server
    metadata = {
        "client_name": "DPoP Native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "dpop_bound_access_tokens": True,
    }
    answer = await http.post(server.url + "/oauth/register", json=metadata)
    assert answer.status_code == 201, answer.text
    assert answer.json()["dpop_bound_access_tokens"] is True


async def push_with(
    server: LiveServer, http: httpx.AsyncClient, client: dict[str, Any], params: dict[str, str], proof: str | None
) -> httpx.Response:
    headers = {"DPoP": proof} if proof is not None else {}
    auth = httpx.BasicAuth(client["client_id"], client["client_secret"])
    return await http.post(server.url + PAR, data=params, auth=auth, headers=headers)


async def redeem_pushed(
    world: World, http: httpx.AsyncClient, request_uri: str, pkce: Pkce, key: DpopKey
) -> httpx.Response:
    server, client = world.server, world.client("web")
    outcome = await authorize_as_new_user(server, authorize_url(client, request_uri))
    data = {"grant_type": "authorization_code", "code": outcome.code, "redirect_uri": REDIRECT_URI}
    data["code_verifier"] = pkce.verifier
    return await token_request(http, server, client, data, proof=key.proof("POST", server.url + TOKEN))


async def test_a_proof_sent_with_a_push_binds_the_code_to_its_key(world: World, http: httpx.AsyncClient) -> None:
    server, client = world.server, world.client("web")
    key, pkce = DpopKey.new(), Pkce.new()
    pushed = await push_with(server, http, client, pushed_code_request(pkce), key.proof("POST", server.url + PAR))
    assert pushed.status_code == 201, pushed.text
    stolen = await redeem_pushed(world, http, pushed.json()["request_uri"], pkce, DpopKey.new())
    assert stolen.json() == {
        "error": "invalid_grant",
        "error_description": "This code is bound to another DPoP key than the one that signed this proof",
    }

    pkce = Pkce.new()
    pushed = await push_with(server, http, client, pushed_code_request(pkce), key.proof("POST", server.url + PAR))
    redeemed = await redeem_pushed(world, http, pushed.json()["request_uri"], pkce, key)
    assert (redeemed.status_code, redeemed.json()["token_type"]) == (200, "DPoP")


async def test_dpop_jkt_pushed_with_a_proof_by_another_key_is_refused(world: World, http: httpx.AsyncClient) -> None:
    server, client = world.server, world.client("web")
    params = pushed_code_request(Pkce.new(), dpop_jkt=DpopKey.new().jkt)
    pushed = await push_with(server, http, client, params, DpopKey.new().proof("POST", server.url + PAR))
    assert (pushed.status_code, pushed.json()) == (
        400,
        {
            "error": "invalid_dpop_proof",
            "error_description": "dpop_jkt must be the thumbprint of the key that signed the DPoP proof sent with it",
        },
    )


async def test_a_malformed_dpop_jkt_is_refused_at_the_push(world: World, http: httpx.AsyncClient) -> None:
    server, client = world.server, world.client("web")
    pushed = await push_with(server, http, client, pushed_code_request(Pkce.new(), dpop_jkt="short"), None)
    assert (pushed.status_code, pushed.json()["error"]) == (400, "invalid_request")
    assert pushed.json()["error_description"].startswith("dpop_jkt must be the base64url SHA-256 JWK thumbprint")


async def test_a_server_that_requires_nonces_gives_one_at_userinfo_and_takes_it_in_the_next_proof(
    start_server: Callable[..., LiveServer], http: httpx.AsyncClient
) -> None:
    server = start_server("sqlite", GATEPASS_SECURITY_REQUIRE_DPOP_NONCE="true")
    client = server.create_client("--grant-type", "client_credentials", "--service-user", ADMIN_EMAIL)
    key, token_url, userinfo_url = DpopKey.new(), server.url + TOKEN, server.url + "/oauth/userinfo"
    data = {"grant_type": "client_credentials", "scope": "openid all"}
    asked = await token_request(http, server, client, data, proof=key.proof("POST", token_url))
    nonce = asked.headers["dpop-nonce"]
    assert (asked.status_code, asked.json()) == (
        400,
        {
            "error": "use_dpop_nonce",
            "error_description": "Use the nonce in the DPoP-Nonce header of this answer in a new DPoP proof",
        },
    )
    granted = await token_request(http, server, client, data, proof=key.proof("POST", token_url, nonce=nonce))
    assert (granted.status_code, granted.headers["dpop-nonce"]) == (200, nonce)
    access = granted.json()["access_token"]

    stale = key.proof("GET", userinfo_url, access_token=access, nonce="an-old-nonce")
    refused = await http.get(userinfo_url, headers={"Authorization": f"DPoP {access}", "DPoP": stale})
    description = "The DPoP proof's nonce is not current: use the one in the DPoP-Nonce header of this answer"
    assert (refused.status_code, refused.headers["dpop-nonce"]) == (401, nonce)
    assert refused.headers["www-authenticate"] == (
        f'DPoP realm="{server.url}", error="use_dpop_nonce", error_description="{description}", algs="{ALGS}"'
    )
    fresh = key.proof("GET", userinfo_url, access_token=access, nonce=nonce)
    answer = await http.get(userinfo_url, headers={"Authorization": f"DPoP {access}", "DPoP": fresh})
    # RFC 9449 §8.2 and §9: each success hands out the nonce to use next, so a client that keeps it current
    # never meets the refusal again; the document API and Frappe's methods do the same.
    assert (answer.status_code, answer.headers.get("dpop-nonce")) == (200, nonce), answer.text
    for url in (server.url + "/api/resource/ToDo", server.url + "/api/method/frappe.auth.get_logged_user"):
        proof = key.proof("GET", url, access_token=access, nonce=nonce)
        served = await http.get(url, headers={"Authorization": f"DPoP {access}", "DPoP": proof})
        assert (served.status_code, served.headers.get("dpop-nonce")) == (200, nonce), served.text


async def test_a_device_polling_with_a_proof_gets_a_dpop_token(
    sqlite_clock_server: ClockServer, http: httpx.AsyncClient
) -> None:
    server = sqlite_clock_server
    client = server.create_client("--public", "--grant-type", DEVICE_GRANT, name="DPoP Television")
    codes = await DeviceClient(http, server.url, client).codes("openid profile")
    async with HttpBrowser(server, server.create_user()) as browser:
        browser.http.headers["X-Forwarded-For"] = unique_address()
        await browser.login()
        await decide(browser, await open_device_page(browser, codes["user_code"]), "allow")
    server.clock.advance(seconds=codes["interval"])
    key = DpopKey.new("EdDSA")
    # Proofs made at the server's time: this server's clock has been moved by every test that shares it.
    server_now = int(time.time() + server.clock.moved_seconds)
    data = {"grant_type": DEVICE_GRANT, "device_code": codes["device_code"]}
    answer = await token_request(
        http, server, client, data, proof=key.proof("POST", server.url + TOKEN, iat=server_now)
    )
    assert (answer.status_code, answer.json().get("token_type")) == (200, "DPoP"), answer.text
    access = answer.json()["access_token"]
    proof = key.proof("GET", server.url + "/oauth/userinfo", access_token=access, iat=server_now)
    userinfo = await http.get(
        server.url + "/oauth/userinfo", headers={"Authorization": f"DPoP {access}", "DPoP": proof}
    )
    assert userinfo.status_code == 200, userinfo.text


async def test_a_jwt_access_token_bound_to_a_key_names_it_in_cnf_and_needs_its_proof(
    world: World, http: httpx.AsyncClient
) -> None:
    server = world.server
    client = server.create_client(
        *("--grant-type", "client_credentials", "--service-user", world.user("robot")["email"]),
        *("--scope", "openid", "--access-token-format", "jwt"),
    )
    key, userinfo_url = DpopKey.new(), server.url + "/oauth/userinfo"
    data = {"grant_type": "client_credentials", "scope": "openid"}
    answer = await token_request(http, server, client, data, proof=key.proof("POST", server.url + TOKEN))
    assert (answer.status_code, answer.json()["token_type"]) == (200, "DPoP")
    access = answer.json()["access_token"]
    payload = access.split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["cnf"] == {"jkt": key.jkt}
    as_bearer = await http.get(userinfo_url, headers={"Authorization": f"Bearer {access}"})
    assert (as_bearer.status_code, as_bearer.json()["error"]) == (401, "invalid_token")
    proof = key.proof("GET", userinfo_url, access_token=access)
    with_proof = await http.get(userinfo_url, headers={"Authorization": f"DPoP {access}", "DPoP": proof})
    assert with_proof.status_code == 200, with_proof.text
