"""Request objects (RFC 9101) end to end: oauth4webapi signs the authorization request, pushes it (RFC 9126 §3)
or sends it by value, the user logs in and consents, and the library redeems the code; objects that must not
be trusted are refused as invalid_request_object, on a page, since the redirect URI they name is unproven."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from jar_support import library_client, new_key, register_with_keys, request_object, run_jar_client
from joserfc.jwk import OctKey
from par_support import authorize_as_new_user, push, pushed_code_request

from support.backchannel import Backchannel
from support.browser import HttpBrowser, assert_error_page, assert_error_redirect, code_request
from support.pkce import Pkce
from support.rows import rows
from support.server import REDIRECT_URI, LiveServer


@pytest.fixture(scope="module")
def key() -> Any:
    return new_key("PS256", "request-key-1")


@pytest.fixture(scope="module")
def signing_client(server: LiveServer, tmp_path_factory: pytest.TempPathFactory, key: Any) -> dict[str, Any]:
    """A client that may send its authorization requests only as request objects signed with its key."""
    return register_with_keys(
        server, tmp_path_factory.mktemp("jar"), key, "--require-signed-request-object", name="Signed Requests App"
    )


async def _redeem(server: LiveServer, arguments: dict[str, Any], sent: dict[str, Any], callback: str) -> dict[str, Any]:
    redeem = {**arguments, "callback_url": callback, **{k: sent[k] for k in ("code_verifier", "state", "nonce")}}
    status, tokens = await run_jar_client("redeem", redeem)
    assert status == 0, tokens
    return tokens


@pytest.mark.parametrize(
    ("command", "carried"),
    [("push", {"client_id", "request_uri"}), ("by-value", {"client_id", "request"})],
    ids=["pushed", "by-value"],
)
async def test_oauth4webapi_signs_the_request_and_redeems_the_code_after_login_and_consent(
    server: LiveServer, signing_client: dict[str, Any], key: Any, command: str, carried: set[str]
) -> None:
    arguments = library_client(server, signing_client, key, "PS256")
    status, sent = await run_jar_client(command, arguments)
    assert status == 0, sent
    # Pushed (RFC 9126 §4), the browser carries client_id and request_uri; by value, the object itself.
    assert set(dict(parse_qsl(urlsplit(sent["authorization_url"]).query))) == carried

    # By value, the verified parameters travel sealed through the login and consent pages.
    outcome = await authorize_as_new_user(server, sent["authorization_url"])
    assert outcome.pages == ["login", "consent"]
    assert outcome.params["state"] == sent["state"]
    tokens = await _redeem(server, arguments, sent, outcome.location)
    assert tokens["scope"] == "openid profile email"
    assert {"access_token", "id_token"} <= set(tokens)


async def test_a_signed_push_is_audited(server: LiveServer, signing_client: dict[str, Any], key: Any) -> None:
    client_id = signing_client["client_id"]
    signed = request_object(client_id, server.url, key, pushed_code_request(Pkce.new(), state="audited"))
    assert (await push(server, signing_client, {"request": signed})).status_code == 201
    found = rows(
        server, "SELECT client_id, detail FROM audit_events WHERE event = ? AND client_id = ?", "par.pushed", client_id
    )
    details = [json.loads(detail) if isinstance(detail, str) else detail for _, detail in found]
    assert details and all(detail["signed"] is True for detail in details)


async def test_only_the_objects_parameters_count_not_those_beside_it(
    server: LiveServer, api: Backchannel, signing_client: dict[str, Any], key: Any
) -> None:
    pkce = Pkce.new()
    signed = request_object(
        signing_client["client_id"], server.url, key, code_request(signing_client, pkce, scope="openid", state="signed")
    )
    # RFC 9101 §6.3: a scope and state added in the query are not the client's; they are ignored.
    request = {"client_id": signing_client["client_id"], "request": signed, "scope": "openid email", "state": "added"}
    async with HttpBrowser(server, server.create_user()) as browser:
        outcome = await browser.authorize(request)
    assert outcome.params["state"] == "signed"
    tokens = await api.tokens(signing_client, outcome.code, pkce)
    assert tokens["scope"] == "openid"


def _changes_for(case: str) -> dict[str, Any]:
    now = int(time.time())
    changes: dict[str, dict[str, Any]] = {
        "wrong aud": {"aud": "https://other-server.example"},
        "expired": {"iat": now - 600, "nbf": now - 600, "exp": now - 300},
        "no exp": {"exp": None},
        "client_id mismatch": {"client_id": "someone-else"},
        "iss not the client": {"iss": "someone-else"},
        "lives too long": {"exp": now + 3600},
        "request inside": {"request_uri": "https://app.example.com/r.jwt"},
    }
    return changes[case]


REFUSALS = {
    "wrong aud": "The request object's aud must be this server's issuer, {issuer}",
    "expired": "The request object has expired: make a new one for each authorization request",
    "no exp": "The request object must have an exp claim: a few minutes from now",
    "client_id mismatch": "The request object's client_id differs from the client_id of the request",
    "iss not the client": "The request object's iss must be the client_id",
    "lives too long": "The request object lives too long: its exp may be at most 600 seconds after its nbf "
    "(or from now)",
    "request inside": "A request object must not contain request_uri",
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
async def test_a_request_object_that_cannot_be_trusted_is_refused_on_a_page(
    server: LiveServer, signing_client: dict[str, Any], key: Any, case: str
) -> None:
    client_id = signing_client["client_id"]
    params = code_request(signing_client, Pkce.new())
    signed = request_object(client_id, server.url, key, params, **_changes_for(case))
    async with HttpBrowser(server) as browser:
        outcome = await browser.authorize({"client_id": client_id, "request": signed})
    assert outcome.pages == []
    assert_error_page(outcome.response, "Error code: invalid_request_object", REFUSALS[case].format(issuer=server.url))


async def test_unsigned_and_foreign_signed_objects_are_refused(
    server: LiveServer, signing_client: dict[str, Any], key: Any
) -> None:
    client_id = signing_client["client_id"]
    params = code_request(signing_client, Pkce.new())
    stranger = new_key("PS256", key.kid)
    forged = request_object(client_id, server.url, stranger, params)
    _, body, _ = request_object(client_id, server.url, key, params).split(".")
    unsigned = f"eyJhbGciOiJub25lIiwidHlwIjoib2F1dGgtYXV0aHotcmVxK2p3dCJ9.{body}."
    rs256 = request_object(client_id, server.url, new_key("RS256", "other-kid"), params, alg="RS256")
    cases = {
        forged: "The request object's signature does not match the client's registered keys",
        unsigned: "The request object must be signed: alg none is not accepted",
        rs256: "None of the client's registered keys fits the request object's kid 'other-kid'",
    }
    async with HttpBrowser(server) as browser:
        for signed, description in cases.items():
            outcome = await browser.authorize({"client_id": client_id, "request": signed})
            assert_error_page(outcome.response, "Error code: invalid_request_object", description)


async def test_request_and_request_uri_together_are_refused(
    server: LiveServer, signing_client: dict[str, Any], key: Any
) -> None:
    client_id = signing_client["client_id"]
    signed = request_object(client_id, server.url, key, code_request(signing_client, Pkce.new()))
    both = {"client_id": client_id, "request": signed, "request_uri": "urn:ietf:params:oauth:request_uri:abc"}
    async with HttpBrowser(server) as browser:
        outcome = await browser.authorize(both)
    assert_error_page(
        outcome.response, "Error code: invalid_request", "Send request or request_uri, not both (RFC 9101 section 5)"
    )
    pushed = await push(server, signing_client, {"request": signed, "request_uri": "urn:x"})
    assert pushed.status_code == 400
    assert pushed.json()["error"] == "invalid_request"


async def test_a_push_with_a_bad_object_is_answered_in_json(
    server: LiveServer, signing_client: dict[str, Any], key: Any
) -> None:
    client_id = signing_client["client_id"]
    wrong_aud = request_object(client_id, server.url, key, pushed_code_request(Pkce.new()), aud=server.url + "/x")
    response = await push(server, signing_client, {"request": wrong_aud})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request_object",
        "error_description": f"The request object's aud must be this server's issuer, {server.url}",
    }


async def test_a_client_that_must_sign_is_refused_plain_requests(
    server: LiveServer, signing_client: dict[str, Any]
) -> None:
    pushed = await push(server, signing_client, pushed_code_request(Pkce.new()))
    assert pushed.status_code == 400
    assert pushed.json() == {
        "error": "invalid_request",
        "error_description": "This client must send its authorization requests as a signed request object, in "
        "the request parameter (RFC 9101)",
    }
    request = code_request(signing_client, Pkce.new())
    async with HttpBrowser(server) as browser:
        outcome = await browser.authorize(request)
    assert_error_redirect(
        outcome,
        server,
        "invalid_request",
        "This client must send its authorization requests as a signed request object (the request parameter, "
        "here or in a pushed request)",
        state=request["state"],
    )


async def test_an_hs256_object_signed_with_the_client_secret(server: LiveServer, api: Backchannel) -> None:
    client = server.create_client("--request-object-alg", "HS256", name="HMAC Requests App")
    pkce = Pkce.new()
    secret = OctKey.import_key(client["client_secret"].encode())
    signed = request_object(
        client["client_id"], server.url, secret, code_request(client, pkce, state="hmac"), alg="HS256"
    )
    async with HttpBrowser(server, server.create_user()) as browser:
        outcome = await browser.authorize({"client_id": client["client_id"], "request": signed})
    assert outcome.params["state"] == "hmac"
    assert "access_token" in await api.tokens(client, outcome.code, pkce)


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"])
async def test_discovery_advertises_request_objects(server: LiveServer, path: str) -> None:
    async with HttpBrowser(server) as browser:
        metadata = (await browser.http.get(path)).json()
    assert metadata["request_parameter_supported"] is True
    assert metadata["request_uri_parameter_supported"] is False
    assert metadata["require_signed_request_object"] is False
    assert sorted(metadata["request_object_signing_alg_values_supported"]) == [
        "ES256", "EdDSA", "HS256", "HS384", "HS512", "PS256", "RS256",
    ]  # fmt: skip


async def test_a_client_registers_itself_to_sign_its_requests(open_registration_server: LiveServer, key: Any) -> None:
    server = open_registration_server
    registration = {
        "client_name": "Self-registered Signed App",
        "redirect_uris": [REDIRECT_URI],
        "jwks": {"keys": [key.as_dict(private=False)]},
        "require_signed_request_object": True,
        "request_object_signing_alg": "PS256",
    }
    async with httpx.AsyncClient(base_url=server.url) as http:
        registered = await http.post("/oauth/register", json=registration)
        unsigned_alg = await http.post("/oauth/register", json={**registration, "request_object_signing_alg": "none"})
    assert registered.status_code == 201, registered.text
    client: dict[str, Any] = registered.json()
    assert (client["require_signed_request_object"], client["request_object_signing_alg"]) == (True, "PS256")
    assert unsigned_alg.status_code == 400
    assert unsigned_alg.json() == {
        "error": "invalid_client_metadata",
        "error_description": "request_object_signing_alg must be one of RS256, PS256, ES256, EdDSA, HS256, HS384, HS512",
    }
    pkce = Pkce.new()
    signed = request_object(client["client_id"], server.url, key, code_request(client, pkce, state="self"))
    async with HttpBrowser(server, server.create_user()) as browser:
        plain = await browser.authorize(code_request(client, Pkce.new()))
        outcome = await browser.authorize({"client_id": client["client_id"], "request": signed})
    # Unproven until a first authorization, the client is not sent the refusal: it is shown on a page.
    assert_error_page(plain.response, "Error code: invalid_request", "must send its authorization requests as a signed")
    assert outcome.params["state"] == "self"
