"""Helpers for the OpenID Connect tests: authentication requests, code flows, id_token checks, expected claims.

Everything goes over real HTTP to a running `gatepass serve`. id_tokens are checked only with
PyJWT and joserfc against the published JWKS (or, for HS256, the client secret), never with
Gatepass's own code.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from joserfc import jwt as jose_jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet, OctKey
from joserfc.jwt import JWTClaimsRegistry

from support.backchannel import SSL_CONTEXT, Backchannel
from support.browser import AuthorizationOutcome, HttpBrowser, code_request
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.server import LiveServer

USERINFO = "/oauth/userinfo"
LOGOUT = "/oauth/logout"
FRAPPE_OPENID_PROFILE = "/api/method/frappe.integrations.oauth2.openid_profile"
DISCOVERY = "/.well-known/openid-configuration"
RFC8414_METADATA = "/.well-known/oauth-authorization-server"
POST_LOGOUT_URI = "http://127.0.0.1:9999/logged-out"
ALL_SCOPES = "openid profile email roles"
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256", "EdDSA")
#: A role the users get besides the built-in System Manager (the seeds' app servers sync it).
SALES_ROLE = "Sales Manager"


# -- hashes and requests -----------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def half_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 at_hash: the left half of the hash that the JOSE alg uses, base64url.

    SHA-256 for RS256, ES256 and HS256; SHA-512 for EdDSA with Ed25519.
    """
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


def authentication_request(
    client: Mapping[str, Any], pkce: Pkce, *, scope: str = ALL_SCOPES, **extra: str
) -> dict[str, str]:
    """An OpenID Connect authentication request (OIDC Core §3.1.2.1): a code request with PKCE and a fresh nonce."""
    return code_request(client, pkce, scope=scope, **{"nonce": secrets.token_urlsafe(12), **extra})


# -- back channel -----------------------------------------------------------------------------


async def redeem(server: LiveServer, client: Mapping[str, Any], code: str, pkce: Pkce) -> dict[str, Any]:
    async with httpx.AsyncClient(verify=SSL_CONTEXT) as http:
        return await Backchannel(http, server).tokens(client, code, pkce)


async def refresh(server: LiveServer, client: Mapping[str, Any], refresh_token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(verify=SSL_CONTEXT) as http:
        response = await Backchannel(http, server).refresh(client, refresh_token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def revoke(server: LiveServer, client: Mapping[str, Any], token: str) -> None:
    async with httpx.AsyncClient(verify=SSL_CONTEXT) as http:
        response = await Backchannel(http, server).revoke(client, token)
    assert response.status_code == 200, response.text


@dataclass
class CodeFlow:
    """One authorization code flow: what was sent, where the browser landed, what the token endpoint gave."""

    request: dict[str, str]
    outcome: AuthorizationOutcome
    tokens: dict[str, Any]

    @property
    def nonce(self) -> str:
        return self.request["nonce"]

    @property
    def id_token(self) -> str:
        id_token: str = self.tokens["id_token"]
        return id_token


async def code_flow(
    browser: HttpBrowser, client: Mapping[str, Any], *, scope: str = ALL_SCOPES, **extra: str
) -> CodeFlow:
    pkce = Pkce.new()
    request = authentication_request(client, pkce, scope=scope, **extra)
    outcome = await browser.authorize(request)
    assert outcome.params["state"] == request["state"]
    tokens = await redeem(browser.server, client, outcome.code, pkce)
    return CodeFlow(request, outcome, tokens)


# -- id_token checks with PyJWT and joserfc ---------------------------------------------------


_discovered: dict[str, dict[str, Any]] = {}


def discovery(server: LiveServer) -> dict[str, Any]:
    """The server's OpenID Provider metadata, fetched once per server (it never changes while it runs)."""
    if server.url not in _discovered:
        response = httpx.get(server.url + DISCOVERY)
        assert response.status_code == 200, response.text
        _discovered[server.url] = response.json()
    return _discovered[server.url]


def published_jwks(server: LiveServer) -> dict[str, Any]:
    response = httpx.get(discovery(server)["jwks_uri"])
    assert response.status_code == 200, response.text
    jwks: dict[str, Any] = response.json()
    return jwks


@contextlib.contextmanager
def eddsa_allowed() -> Iterator[None]:
    # joserfc flags the "EdDSA" name as superseded by RFC 9864's "Ed25519"; the provider publishes
    # "EdDSA" because relying parties (PyJWT, Authlib) still use it.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
        yield


def _lag_seconds(server: LiveServer) -> int:
    """How far the relying party's clock (the real one) is behind a clock server's: its leeway for iat."""
    return int(server.clock.moved_seconds) + 1 if isinstance(server, ClockServer) else 0


def verify_with_pyjwt(id_token: str, server: LiveServer, client_id: str, alg: str) -> dict[str, Any]:
    """PyJWKClient against the published jwks_uri; only the client's algorithm is accepted."""
    jwks_client = jwt.PyJWKClient(discovery(server)["jwks_uri"], cache_jwk_set=False)
    signing_key = jwks_client.get_signing_key_from_jwt(id_token)
    claims: dict[str, Any] = jwt.decode(
        id_token,
        signing_key.key,
        algorithms=[alg],
        audience=client_id,
        issuer=server.url,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        leeway=_lag_seconds(server),
    )
    return claims


def verify_with_joserfc(
    id_token: str, jwks: dict[str, Any], issuer: str, client_id: str, alg: str, leeway: int = 0
) -> dict[str, Any]:
    """joserfc with a KeySet built from the published JWKS, then an explicit claims registry."""
    key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    with eddsa_allowed():
        token = jose_jwt.decode(id_token, key_set, algorithms=[alg])
    registry = JWTClaimsRegistry(
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    )
    registry.validate(token.claims)
    return dict(token.claims)


def verify_id_token(id_token: str, server: LiveServer, client_id: str, alg: str = "RS256") -> dict[str, Any]:
    """Both libraries accept the token and read the same claims; the header names alg and a published kid."""
    jwks = published_jwks(server)
    header = jwt.get_unverified_header(id_token)
    assert header["alg"] == alg
    kids = {key["kid"]: key for key in jwks["keys"]}
    assert header.get("kid") in kids, f"kid {header.get('kid')!r} is not in the JWKS"
    assert kids[header["kid"]]["alg"] == alg
    by_pyjwt = verify_with_pyjwt(id_token, server, client_id, alg)
    by_joserfc = verify_with_joserfc(id_token, jwks, server.url, client_id, alg, _lag_seconds(server))
    assert by_pyjwt == by_joserfc
    return by_pyjwt


def verify_hs256_like_the_seeds(id_token: str, client: Mapping[str, Any]) -> dict[str, Any]:
    """The seeds' PyJWT snippet, with ``algorithms=["HS256"]`` as PyJWT 2 requires."""
    payload: dict[str, Any] = jwt.decode(
        id_token,
        audience=client["client_id"],
        key=client["client_secret"],
        algorithms=["HS256"],
        options={"verify_exp": False},  # as in the snippet
    )
    return payload


def verify_hs256_with_joserfc(id_token: str, server: LiveServer, client: Mapping[str, Any]) -> dict[str, Any]:
    token = jose_jwt.decode(id_token, OctKey.import_key(client["client_secret"]), algorithms=["HS256"])
    registry = JWTClaimsRegistry(
        iss={"essential": True, "value": server.url},
        aud={"essential": True, "value": client["client_id"]},
        exp={"essential": True},
    )
    registry.validate(token.claims)
    return dict(token.claims)


def assert_standard_claims(
    claims: Mapping[str, Any], server: LiveServer, client: Mapping[str, Any], user: Mapping[str, Any]
) -> None:
    """OIDC Core §2: iss, sub, aud, azp, and a sane iat/exp."""
    assert claims["iss"] == server.url
    assert claims["sub"] == user["sub"]
    assert claims["aud"] == client["client_id"]
    assert claims["azp"] == client["client_id"]
    assert isinstance(claims["iat"], int)
    assert isinstance(claims["exp"], int)
    assert claims["exp"] > claims["iat"]


def profile_claims(user: Mapping[str, Any]) -> dict[str, Any]:
    """The profile scope's claims (OIDC Core §5.4); picture only for a user who has one."""
    claims = {"name": user["full_name"], "given_name": user["first_name"], "family_name": user["last_name"]}
    if "picture" in user:
        claims["picture"] = user["picture"]
    return claims


def user_claims(user: Mapping[str, Any], scope: str) -> dict[str, Any]:
    """What a relying party may learn about ``user`` with ``scope`` (OIDC Core §5.4, plus Frappe's roles)."""
    scopes = scope.split()
    claims: dict[str, Any] = {"sub": user["sub"]}
    if "profile" in scopes:
        claims.update(profile_claims(user))
    if "email" in scopes:
        claims.update(email=user["email"], email_verified=True)  # users made by an admin count as verified
    if "roles" in scopes:
        claims["roles"] = sorted(user["roles"])
    return claims


def sorted_roles(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The claims with the roles list sorted: the order of roles carries no meaning."""
    return {**claims, "roles": sorted(claims["roles"])} if "roles" in claims else dict(claims)
