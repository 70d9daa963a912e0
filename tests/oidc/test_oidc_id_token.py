"""id_tokens (OIDC Core §2, §3.1.3.6, §3.2.2.10, §12.2) checked with PyJWT and joserfc only.

Claims by scope are checked in the id_token and at the UserInfo endpoint with the same token.

The claims come from the code flow, a refresh, and the implicit ``id_token`` and ``id_token token``
responses; the signatures from the published JWKS (RS256, ES256, EdDSA) or the client secret (HS256).
"""

from __future__ import annotations

import secrets
import time

import httpx
import jwt
import pytest
from oidc_support import (
    ALL_SCOPES,
    SALES_ROLE,
    USERINFO,
    assert_standard_claims,
    code_flow,
    half_hash,
    published_jwks,
    refresh,
    sorted_roles,
    user_claims,
    verify_hs256_like_the_seeds,
    verify_hs256_with_joserfc,
    verify_id_token,
)

from support.browser import HttpBrowser
from support.provision import World
from support.server import REDIRECT_URI

#: Claims about the token itself; every other claim is about the user.
PROTOCOL_CLAIMS = ("iss", "aud", "azp", "exp", "iat", "auth_time", "acr", "amr", "nonce", "at_hash", "sid")


async def test_code_flow_id_token_verifies_and_carries_every_claim(oidc_world: World) -> None:
    server, user, client = oidc_world.server, oidc_world.user("alice"), oidc_world.client("web")
    async with HttpBrowser(server, user) as browser:
        before = int(time.time())
        flow = await code_flow(browser, client)
    claims = verify_id_token(flow.id_token, server, client["client_id"], "RS256")
    assert_standard_claims(claims, server, client, user)
    assert claims["nonce"] == flow.nonce
    assert claims["at_hash"] == half_hash(flow.tokens["access_token"], "RS256")
    assert before - 1 <= claims["auth_time"] <= claims["iat"] <= int(time.time()) + 1
    about_user = {key: value for key, value in claims.items() if key not in PROTOCOL_CLAIMS}
    assert sorted_roles(about_user) == user_claims(user, ALL_SCOPES)
    assert sorted(claims["roles"]) == sorted(["System Manager", SALES_ROLE])
    # OIDC Core §2: a password login, one factor.
    assert (claims["amr"], claims["acr"]) == (["pwd"], "urn:gatepass:acr:pwd")


async def test_refresh_returns_a_new_id_token_for_the_same_login(oidc_world: World) -> None:
    server, user, client = oidc_world.server, oidc_world.user("alice"), oidc_world.client("web")
    async with HttpBrowser(server, user) as browser:
        flow = await code_flow(browser, client)
    first = verify_id_token(flow.id_token, server, client["client_id"])
    refreshed = await refresh(server, client, flow.tokens["refresh_token"])
    assert refreshed["id_token"] != flow.id_token
    claims = verify_id_token(refreshed["id_token"], server, client["client_id"])
    assert_standard_claims(claims, server, client, user)
    # §12.2: same iss, sub, aud, azp; auth_time of the original login; no nonce.
    assert claims["auth_time"] == first["auth_time"]
    assert claims["iat"] >= first["iat"]
    assert "nonce" not in claims
    assert claims["at_hash"] == half_hash(refreshed["access_token"], "RS256")
    assert sorted(claims["roles"]) == sorted(first["roles"])


@pytest.mark.parametrize(
    "scope",
    ["openid", "openid profile", "openid email", "openid roles", "openid profile email roles"],
    ids=["openid-only", "profile", "email", "roles", "all"],
)
async def test_id_token_and_userinfo_claims_follow_the_granted_scopes(oidc_sqlite: World, scope: str) -> None:
    server, user, client = oidc_sqlite.server, oidc_sqlite.user("alice"), oidc_sqlite.client("web")
    async with HttpBrowser(server, user) as browser:
        flow = await code_flow(browser, client, scope=scope)
    assert flow.tokens["scope"] == scope
    claims = verify_id_token(flow.id_token, server, client["client_id"])
    about_user = {key: value for key, value in claims.items() if key not in PROTOCOL_CLAIMS}
    assert sorted_roles(about_user) == user_claims(user, scope)
    async with httpx.AsyncClient(base_url=server.url) as http:
        userinfo = await http.get(USERINFO, headers={"Authorization": f"Bearer {flow.tokens['access_token']}"})
    assert userinfo.status_code == 200
    assert sorted_roles(userinfo.json()) == user_claims(user, scope)


async def test_default_algorithm_is_rs256_with_a_published_kid(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    assert client["id_token_signed_response_alg"] == "RS256"
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        flow = await code_flow(browser, client, scope="openid")
    header = jwt.get_unverified_header(flow.id_token)
    key = next(key for key in published_jwks(server)["keys"] if key["kid"] == header["kid"])
    assert (header["alg"], key["kty"], key["alg"], key["use"]) == ("RS256", "RSA", "RS256", "sig")
    verify_id_token(flow.id_token, server, client["client_id"], "RS256")


@pytest.mark.parametrize(("name", "alg", "kty"), [("es256", "ES256", "EC"), ("eddsa", "EdDSA", "OKP")])
async def test_client_chosen_algorithm_signs_with_its_published_key(
    oidc_sqlite: World, name: str, alg: str, kty: str
) -> None:
    server, user, client = oidc_sqlite.server, oidc_sqlite.user("alice"), oidc_sqlite.client(name)
    async with HttpBrowser(server, user) as browser:
        flow = await code_flow(browser, client)
    header = jwt.get_unverified_header(flow.id_token)
    key = next(key for key in published_jwks(server)["keys"] if key["kid"] == header["kid"])
    assert (key["kty"], key["alg"]) == (kty, alg)
    claims = verify_id_token(flow.id_token, server, client["client_id"], alg)
    assert_standard_claims(claims, server, client, user)
    assert claims["nonce"] == flow.nonce
    # §3.1.3.6: the hash of the JOSE alg; SHA-512 for EdDSA with Ed25519.
    assert claims["at_hash"] == half_hash(flow.tokens["access_token"], alg)


async def test_hs256_id_token_verifies_with_the_seeds_pyjwt_snippet(oidc_sqlite: World) -> None:
    server, user, client = oidc_sqlite.server, oidc_sqlite.user("alice"), oidc_sqlite.client("hs256")
    async with HttpBrowser(server, user) as browser:
        flow = await code_flow(browser, client)
    header = jwt.get_unverified_header(flow.id_token)
    assert header["alg"] == "HS256"
    payload = verify_hs256_like_the_seeds(flow.id_token, client)
    assert payload == verify_hs256_with_joserfc(flow.id_token, server, client)
    assert_standard_claims(payload, server, client, user)
    assert payload["nonce"] == flow.nonce
    assert payload["at_hash"] == half_hash(flow.tokens["access_token"], "HS256")
    assert sorted(payload["roles"]) == sorted(user["roles"])
    # Signed with the secret, so another secret must fail.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(flow.id_token, key="x" * 43, audience=client["client_id"], algorithms=["HS256"])


async def test_hs256_id_token_after_refresh_still_verifies_with_the_secret(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("hs256")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        flow = await code_flow(browser, client)
    refreshed = await refresh(server, client, flow.tokens["refresh_token"])
    payload = verify_hs256_like_the_seeds(refreshed["id_token"], client)
    assert payload["at_hash"] == half_hash(refreshed["access_token"], "HS256")


def _implicit_request(client_id: str, response_type: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "response_type": response_type,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile roles",
        "state": secrets.token_urlsafe(12),
        **extra,
    }


async def test_implicit_id_token_arrives_in_the_fragment_without_access_token(oidc_sqlite: World) -> None:
    server, user, client = oidc_sqlite.server, oidc_sqlite.user("alice"), oidc_sqlite.client("implicit")
    nonce = secrets.token_urlsafe(12)
    request = _implicit_request(client["client_id"], "id_token", nonce=nonce)
    async with HttpBrowser(server, user) as browser:
        outcome = await browser.authorize(request)
    assert "#" in outcome.location and "?" not in outcome.location
    params = outcome.params
    assert set(params) == {"id_token", "state", "iss"}
    assert (params["state"], params["iss"]) == (request["state"], server.url)
    claims = verify_id_token(params["id_token"], server, client["client_id"])
    assert_standard_claims(claims, server, client, user)
    assert claims["nonce"] == nonce
    assert "at_hash" not in claims  # §3.2.2.10: no access token, nothing to hash
    assert claims["name"] == user["full_name"]
    assert sorted(claims["roles"]) == sorted(user["roles"])


async def test_implicit_id_token_token_binds_the_access_token_with_at_hash(oidc_sqlite: World) -> None:
    server, user, client = oidc_sqlite.server, oidc_sqlite.user("alice"), oidc_sqlite.client("implicit")
    nonce = secrets.token_urlsafe(12)
    request = _implicit_request(client["client_id"], "id_token token", nonce=nonce)
    async with HttpBrowser(server, user) as browser:
        outcome = await browser.authorize(request)
    params = outcome.params
    assert set(params) == {"access_token", "token_type", "expires_in", "scope", "id_token", "state", "iss"}
    assert params["token_type"] == "Bearer"
    claims = verify_id_token(params["id_token"], server, client["client_id"])
    assert_standard_claims(claims, server, client, user)
    assert claims["nonce"] == nonce
    assert claims["at_hash"] == half_hash(params["access_token"], "RS256")


@pytest.mark.parametrize("response_type", ["id_token", "id_token token"])
async def test_implicit_id_token_without_nonce_is_refused(oidc_sqlite: World, response_type: str) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("implicit")
    request = _implicit_request(client["client_id"], response_type)
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        outcome = await browser.authorize(request)
    assert outcome.pages == []
    assert outcome.params == {
        "error": "invalid_request",
        "error_description": "nonce is required when an id_token is returned from the authorization endpoint",
        "state": request["state"],
        "iss": server.url,
    }
