"""The FAPI 2.0 Security Profile as one client setting (gatepass client add --profile fapi2): a conforming
client (private_key_jwt, PAR, PKCE S256, DPoP, ES256) gets its tokens end to end with oauth4webapi, and each
rule of the profile, broken, is refused with the error the specification's underlying RFC names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from dpop_support import DpopKey
from jar_support import client_assertion, library_client, new_key, request_object, run_jar_client
from joserfc.jwk import ECKey
from par_support import authorize_url, push, pushed_code_request

from support.browser import HttpBrowser, assert_error_redirect, code_request
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.server import REDIRECT_URI, LiveServer

TOKEN = "/oauth/token"


def _register_fapi2(server: LiveServer, tmp_path: Path, key: Any, *args: str) -> dict[str, Any]:
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    return server.create_client(
        "--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file), "--profile", "fapi2", *args, name="FAPI App"
    )


@pytest.fixture(scope="module")
def key() -> Any:
    return new_key("ES256", "fapi-key-1")


@pytest.fixture(scope="module")
def fapi_client(server: LiveServer, tmp_path_factory: pytest.TempPathFactory, key: Any) -> dict[str, Any]:
    return _register_fapi2(server, tmp_path_factory.mktemp("fapi2"), key)


def test_the_profile_switches_on_what_it_needs(fapi_client: dict[str, Any]) -> None:
    assert fapi_client["security_profile"] == "fapi2"
    assert fapi_client["require_pushed_authorization_requests"] is True
    assert fapi_client["dpop_bound_access_tokens"] is True
    assert fapi_client["require_pkce"] is True


async def test_a_conforming_client_gets_dpop_bound_tokens_end_to_end(
    server: LiveServer, fapi_client: dict[str, Any], key: Any
) -> None:
    arguments = library_client(server, fapi_client, key, "ES256")
    status, pushed = await run_jar_client("push", arguments)
    assert status == 0, pushed
    assert pushed["expires_in"] <= 599
    async with HttpBrowser(server, server.create_user()) as browser:
        outcome = await browser.authorize_url(pushed["authorization_url"])
    assert outcome.pages == ["login", "consent"]
    # §5.3.2.2: the response says who issued it (RFC 9207).
    assert outcome.params["iss"] == server.url
    dpop_key = ECKey.generate_key("P-256").as_dict(private=True)
    redeem = {
        **arguments,
        "dpop_jwk": dpop_key,
        "callback_url": outcome.location,
        **{k: pushed[k] for k in ("code_verifier", "state", "nonce")},
    }
    status, tokens = await run_jar_client("redeem", redeem)
    assert status == 0, tokens
    assert tokens["token_type"].lower() == "dpop"
    assert {"access_token", "id_token"} <= set(tokens)


async def test_an_authorization_request_not_pushed_is_refused(server: LiveServer, fapi_client: dict[str, Any]) -> None:
    request = code_request(fapi_client, Pkce.new())
    async with HttpBrowser(server) as browser:
        outcome = await browser.authorize(request)
    assert_error_redirect(
        outcome,
        server,
        "invalid_request",
        "This client must push its authorization requests to the pushed authorization request endpoint, then "
        "send only client_id and request_uri here",
        state=request["state"],
    )


def _without_pkce() -> dict[str, str]:
    params = pushed_code_request(Pkce.new())
    del params["code_challenge"], params["code_challenge_method"]
    return params


PUSH_REFUSALS = {
    "no PKCE": (_without_pkce(), 400, "invalid_request"),
    "plain PKCE": (
        pushed_code_request(Pkce.new(), code_challenge="x" * 43, code_challenge_method="plain"),
        400,
        "invalid_request",
    ),
    "implicit": (pushed_code_request(Pkce.new(), response_type="token"), 400, "unauthorized_client"),
}


@pytest.mark.parametrize(("params", "status", "error"), list(PUSH_REFUSALS.values()), ids=list(PUSH_REFUSALS))
async def test_a_push_that_breaks_a_rule_of_the_code_flow_is_refused(
    server: LiveServer, fapi_client: dict[str, Any], key: Any, params: dict[str, str], status: int, error: str
) -> None:
    response = await push(
        server, fapi_client, {**params, **client_assertion(fapi_client["client_id"], server.url, key)}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


async def test_client_assertions_must_use_a_profile_alg_and_may_name_the_issuer_as_a_string_or_in_an_array(
    server: LiveServer, tmp_path: Path
) -> None:
    rsa_key = new_key("RS256", "fapi-rsa-1")
    client = _register_fapi2(server, tmp_path, rsa_key)
    client_id, params = client["client_id"], pushed_code_request(Pkce.new())
    refused = await push(server, client, {**params, **client_assertion(client_id, server.url, rsa_key, alg="RS256")})
    assert refused.status_code == 401, refused.text
    assert refused.json() == {
        "error": "invalid_client",
        "error_description": "A private_key_jwt client_assertion must be signed with one of PS256, ES256, EdDSA",
    }
    # §5.3.2.1 (final): the issuer as a string or as a member of an array, and the endpoint's URL as well.
    for audience in (server.url, [server.url], [server.url + "/oauth/par", server.url], server.url + "/oauth/par"):
        accepted = await push(server, client, {**params, **client_assertion(client_id, audience, rsa_key, alg="PS256")})
        assert accepted.status_code == 201, (audience, accepted.text)
    elsewhere = await push(
        server, client, {**params, **client_assertion(client_id, "https://other.example", rsa_key, alg="PS256")}
    )
    assert elsewhere.status_code == 401, elsewhere.text
    assert elsewhere.json()["error_description"] == f"client_assertion's aud must be this server's issuer, {server.url}"


async def test_a_request_object_must_use_a_profile_alg(server: LiveServer, tmp_path: Path) -> None:
    rsa_key = new_key("RS256", "fapi-rsa-2")
    client = _register_fapi2(server, tmp_path, rsa_key)
    client_id = client["client_id"]
    signed = request_object(client_id, server.url, rsa_key, pushed_code_request(Pkce.new()), alg="RS256")
    fields = client_assertion(client_id, server.url, rsa_key, alg="PS256")
    response = await push(server, client, {"request": signed, **fields})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request_object",
        "error_description": "The request object must be signed with one of PS256, ES256, EdDSA",
    }


async def test_a_token_request_without_a_dpop_proof_is_refused(
    server: LiveServer, fapi_client: dict[str, Any], key: Any
) -> None:
    pkce = Pkce.new()
    client_id = fapi_client["client_id"]
    pushed = await push(
        server, fapi_client, {**pushed_code_request(pkce), **client_assertion(client_id, server.url, key)}
    )
    assert pushed.status_code == 201, pushed.text
    async with HttpBrowser(server, server.create_user()) as browser:
        outcome = await browser.authorize_url(authorize_url(fapi_client, pushed.json()["request_uri"]))
    form = {
        "grant_type": "authorization_code",
        "code": outcome.code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pkce.verifier,
        "client_id": client_id,
        **client_assertion(client_id, server.url, key),
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(server.url + TOKEN, data=form)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_dpop_proof"


async def test_codes_live_at_most_sixty_seconds(clock_server: ClockServer, tmp_path: Path, key: Any) -> None:
    client = _register_fapi2(clock_server, tmp_path, key)
    client_id, pkce = client["client_id"], Pkce.new()

    def authentication() -> dict[str, str]:
        return client_assertion(client_id, clock_server.url, key, now=int(clock_server.clock().timestamp()))

    pushed = await push(clock_server, client, {**pushed_code_request(pkce), **authentication()})
    assert pushed.status_code == 201, pushed.text
    async with HttpBrowser(clock_server, clock_server.create_user()) as browser:
        outcome = await browser.authorize_url(authorize_url(client, pushed.json()["request_uri"]))
    clock_server.clock.advance(seconds=61)
    form = {
        "grant_type": "authorization_code",
        "code": outcome.code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pkce.verifier,
        "client_id": client_id,
        **authentication(),
    }
    proof = DpopKey.new().proof("POST", clock_server.url + TOKEN, iat=int(clock_server.clock().timestamp()))
    async with httpx.AsyncClient() as http:
        response = await http.post(clock_server.url + TOKEN, data=form, headers={"DPoP": proof})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "A FAPI 2.0 client must authenticate with private_key_jwt"),
        (
            ("--auth-method", "private_key_jwt", "--grant-type", "implicit"),
            "A FAPI 2.0 client uses response_type code only",
        ),
        (
            ("--auth-method", "private_key_jwt", "--auth-signing-alg", "RS256"),
            "A FAPI 2.0 client signs with PS256, ES256, EdDSA only",
        ),
    ],
    ids=["secret", "implicit", "rs256"],
)
def test_a_client_that_cannot_hold_the_profile_is_refused(
    sqlite_server: LiveServer, tmp_path: Path, key: Any, args: tuple[str, ...], message: str
) -> None:
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    result = sqlite_server.cli(
        "client", "add", "--name", "Not FAPI", "--redirect-uri", REDIRECT_URI, "--jwks-file", str(jwks_file),
        "--profile", "fapi2", *args, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert message in result.stderr


def test_a_setting_the_profile_needs_cannot_be_turned_off(sqlite_server: LiveServer, tmp_path: Path, key: Any) -> None:
    client = _register_fapi2(sqlite_server, tmp_path, key, "--no-dpop-bound")
    assert client["dpop_bound_access_tokens"] is True
    result = sqlite_server.cli("client", "update", client["client_id"], "--no-dpop-bound", check=False)
    assert result.returncode != 0
    assert "A FAPI 2.0 client keeps dpop_bound_access_tokens on" in result.stderr


async def test_discovery_lists_each_rule_of_the_profile_with_its_clause(server: LiveServer) -> None:
    async with httpx.AsyncClient() as http:
        metadata = (await http.get(server.url + "/.well-known/openid-configuration")).json()
    fapi2 = metadata["security_profiles_supported"]["fapi2"]
    assert fapi2["specification"] == "https://openid.net/specs/fapi-2_0-security-profile.html"
    sections = {rule["section"] for rule in fapi2["rules"]}
    assert sections == {"5.3.2.1", "5.3.2.2", "5.4"}
    docs = (Path(__file__).resolve().parents[3] / "docs" / "fapi2.md").read_text()
    for rule in fapi2["rules"]:
        assert f"| {rule['rule']} | §{rule['section']} |" in docs, rule
