"""OpenID Provider metadata (Discovery 1.0 §3-4), RFC 8414 metadata and the JWKS they point to.

The documents must agree with each other and with the server: every URL answers, every advertised
response type and mode works, and what is not advertised is refused.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import jwt
import pytest
from joserfc.jwk import KeySet
from oidc_support import ASYMMETRIC_ALGORITHMS, DISCOVERY, RFC8414_METADATA, authentication_request, eddsa_allowed

from support.browser import HttpBrowser, without_query
from support.pkce import Pkce
from support.provision import World
from support.server import REDIRECT_URI

#: Every claim Gatepass's id_tokens and userinfo can carry.
CLAIMS = {
    "sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "azp", "at_hash", "sid",
    "name", "given_name", "family_name", "picture", "email", "email_verified", "roles",
}  # fmt: skip

#: Private JWK members (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2) that must never be published.
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def _get(url: str) -> httpx.Response:
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    return response


@pytest.fixture(scope="module")
def documents(oidc_sqlite: World) -> tuple[dict[str, Any], dict[str, Any]]:
    server = oidc_sqlite.server
    openid: dict[str, Any] = _get(server.url + DISCOVERY).json()
    oauth: dict[str, Any] = _get(server.url + RFC8414_METADATA).json()
    return openid, oauth


def test_both_documents_name_this_server_as_issuer_and_agree(
    oidc_sqlite: World, documents: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    openid, oauth = documents
    # Discovery §4.3 / RFC 8414 §3.3: the issuer is exactly the URL the documents were fetched under.
    assert openid["issuer"] == oauth["issuer"] == oidc_sqlite.server.url
    shared = set(openid) & set(oauth)
    assert {key: openid[key] for key in shared} == {key: oauth[key] for key in shared}
    required = {
        "issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
        "response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported",
    }  # fmt: skip
    assert required <= set(openid)


def test_both_documents_are_cacheable_json(oidc_sqlite: World) -> None:
    for path in (DISCOVERY, RFC8414_METADATA):
        response = _get(oidc_sqlite.server.url + path)
        assert response.headers["content-type"] == "application/json"
        assert re.fullmatch(r"public, max-age=\d+", response.headers["cache-control"])


def test_every_advertised_url_answers_as_its_kind_of_endpoint(
    oidc_sqlite: World, documents: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Each URL is under the issuer and answers a bare request the way its endpoint should."""
    openid, _ = documents
    issuer = oidc_sqlite.server.url
    urls = {key: value for key, value in openid.items() if key.endswith(("_endpoint", "_uri", "_documentation"))}
    assert all(url.startswith(issuer + "/") for url in urls.values()), urls
    expected = {
        "authorization_endpoint": 400,  # an error page: no client_id
        "token_endpoint": 400,
        "userinfo_endpoint": 401,
        "jwks_uri": 200,
        "revocation_endpoint": 400,
        "introspection_endpoint": 400,
        "pushed_authorization_request_endpoint": 400,
        "device_authorization_endpoint": 400,
        "end_session_endpoint": 200,  # nobody logged in: the logged-out page
        "service_documentation": 200,
    }
    assert set(expected) <= set(urls)
    back_channel = {
        "token_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "pushed_authorization_request_endpoint",
        "device_authorization_endpoint",
    }
    for key, url in urls.items():
        response = httpx.post(url) if key in back_channel | {"registration_endpoint"} else httpx.get(url)
        # Endpoints added later (registration, say) must at least exist and not fail.
        assert response.status_code == expected.get(key, response.status_code), (key, response.status_code)
        assert response.status_code not in (404, 405) and response.status_code < 500, (key, response.status_code)
        if key in back_channel:
            assert response.json()["error"] == "invalid_request", key


def test_advertised_capabilities_are_exactly_what_gatepass_supports(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    openid, _ = documents
    assert sorted(openid["response_types_supported"]) == ["code", "id_token", "id_token token", "token"]
    assert sorted(openid["response_modes_supported"]) == ["fragment", "query"]
    assert sorted(openid["grant_types_supported"]) == [
        "authorization_code", "client_credentials", "implicit", "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange",
    ]  # fmt: skip
    assert openid["code_challenge_methods_supported"] == ["S256"]
    for key in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert sorted(openid[f"{key}_auth_methods_supported"]) == [
            "client_secret_basic", "client_secret_jwt", "client_secret_post", "none", "private_key_jwt",
        ]  # fmt: skip
        assert sorted(openid[f"{key}_auth_signing_alg_values_supported"]) == [
            "ES256", "EdDSA", "HS256", "HS384", "HS512", "PS256", "RS256",
        ]  # fmt: skip
    assert sorted(openid["id_token_signing_alg_values_supported"]) == ["ES256", "EdDSA", "HS256", "RS256"]
    assert openid["subject_types_supported"] == ["public", "pairwise"]
    assert openid["authorization_response_iss_parameter_supported"] is True
    assert {"openid", "profile", "email", "roles"} <= set(openid["scopes_supported"])
    assert set(openid["claims_supported"]) == CLAIMS
    assert sorted(openid["prompt_values_supported"]) == ["consent", "login", "none"]
    # Back-Channel Logout 1.0 §2.1: logout tokens are sent, and they (and id_tokens) carry sid.
    assert openid["backchannel_logout_supported"] is True
    assert openid["backchannel_logout_session_supported"] is True
    # OIDC Core §5.5 and §3.1.2.1: the claims parameter is read for acr; two classes, one per number of factors.
    assert openid["claims_parameter_supported"] is True
    assert openid["acr_values_supported"] == ["urn:gatepass:acr:pwd", "urn:gatepass:acr:mfa"]
    # RFC 9101: request objects by value (or pushed); a request_uri is only this server's own, from a push.
    assert openid["request_parameter_supported"] is True
    assert openid["request_uri_parameter_supported"] is False


def test_jwks_is_cacheable_and_publishes_only_public_signing_keys(
    oidc_sqlite: World, documents: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    openid, _ = documents
    response = _get(openid["jwks_uri"])
    match = re.fullmatch(r"public, max-age=(\d+)", response.headers["cache-control"])
    assert match is not None and int(match.group(1)) > 0
    assert response.headers["content-type"] in ("application/jwk-set+json", "application/json")
    keys = response.json()["keys"]
    kids = [key["kid"] for key in keys]
    assert len(kids) == len(set(kids)), "every kid is unique"
    for key in keys:
        assert key["use"] == "sig"
        assert key["alg"] in ASYMMETRIC_ALGORITHMS
        assert not PRIVATE_MEMBERS & set(key), f"private parts published in {key['kid']}"
    advertised = set(openid["id_token_signing_alg_values_supported"]) - {"HS256"}
    assert advertised <= {key["alg"] for key in keys}
    # Both verifying libraries can load every key.
    assert {key.key_id for key in jwt.PyJWKSet.from_dict(response.json()).keys} == set(kids)
    with eddsa_allowed():
        assert {key.kid for key in KeySet.import_key_set(response.json()).keys} == set(kids)


async def _authorize(world: World, client_name: str, **params: str) -> tuple[dict[str, str], str]:
    """Alice authorizes ``params`` for the named client; returns the response parameters and the redirect."""
    async with HttpBrowser(world.server, world.user("alice")) as browser:
        request = {"redirect_uri": REDIRECT_URI, "state": secrets.token_urlsafe(8), **params}
        request["client_id"] = world.client(client_name)["client_id"]
        outcome = await browser.authorize(request)
    assert without_query(outcome.location) == REDIRECT_URI
    return outcome.params, outcome.location


@pytest.mark.parametrize(
    ("response_type", "returned"),
    [
        ("token", {"access_token", "token_type", "expires_in", "scope"}),
        ("id_token", {"id_token"}),
        ("id_token token", {"access_token", "token_type", "expires_in", "scope", "id_token"}),
    ],
)
async def test_every_advertised_implicit_response_type_works_for_a_client_allowed_it(
    oidc_sqlite: World, response_type: str, returned: set[str]
) -> None:
    params, location = await _authorize(
        oidc_sqlite, "implicit", response_type=response_type, scope="openid", nonce="n-1"
    )
    assert "?" not in location, "tokens never go in the query"
    assert set(params) == returned | {"state", "iss"}


@pytest.mark.parametrize("response_mode", ["query", "fragment"])
async def test_every_advertised_response_mode_works_with_code(oidc_sqlite: World, response_mode: str) -> None:
    client = oidc_sqlite.client("web")
    params, location = await _authorize(
        oidc_sqlite, "web", **authentication_request(client, Pkce.new(), response_mode=response_mode)
    )
    assert "code" in params
    assert ("#" in location) is (response_mode == "fragment")


async def test_an_unadvertised_response_type_is_refused(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    request = authentication_request(client, Pkce.new())
    request["response_type"] = "code id_token"
    params, _ = await _authorize(oidc_sqlite, "web", **request)
    assert params == {
        "error": "unsupported_response_type",
        "error_description": (
            "response_type 'code id_token' is not supported; use code (or, for legacy implicit clients, token)"
        ),
        "state": request["state"],
        "iss": server.url,
    }


async def test_an_unadvertised_pkce_method_is_refused(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    request = authentication_request(client, Pkce.new())
    request["code_challenge_method"] = "plain"
    params, _ = await _authorize(oidc_sqlite, "web", **request)
    assert params == {
        "error": "invalid_request",
        "error_description": "code_challenge_method=plain is not allowed for this client; use S256",
        "state": request["state"],
        "iss": server.url,
    }
