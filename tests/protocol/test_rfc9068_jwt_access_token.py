"""JWT access token claims (RFC 9068 §2.2) and the checks a token presented back must pass (§4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gatepass.protocol.errors import InvalidToken
from gatepass.protocol.jose import decode_signed_jwt, generate_signing_key, public_jwk, sign_jwt
from gatepass.protocol.rfc9068_jwt_access_token import (
    TYP,
    build_access_token_claims,
    check_claims,
    check_header,
    looks_like_jwt,
)

ISSUER = "https://id.example.com"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _claims(**overrides: Any) -> dict[str, Any]:
    claims = build_access_token_claims(
        issuer=ISSUER,
        subject="user-sub",
        audience=f"{ISSUER}/api/resource",
        client_id="app",
        scopes=("openid", "roles"),
        jti="a-jti",
        now=NOW,
        ttl_seconds=600,
        auth_time=NOW - timedelta(minutes=5),
        roles=("Accounts User",),
    )
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def test_the_claims_are_those_of_section_2_2_with_auth_time_and_roles_when_given() -> None:
    issued_at = int(NOW.timestamp())
    assert _claims() == {
        "iss": ISSUER,
        "sub": "user-sub",
        "aud": f"{ISSUER}/api/resource",
        "client_id": "app",
        "iat": issued_at,
        "exp": issued_at + 600,
        "jti": "a-jti",
        "scope": "openid roles",
        "auth_time": issued_at - 300,
        "roles": ["Accounts User"],
    }
    bare = build_access_token_claims(
        issuer=ISSUER,
        subject="app",
        audience="https://api.example.com",
        client_id="app",
        scopes=(),
        jti="j",
        now=NOW,
        ttl_seconds=60,
        auth_time=None,
        roles=None,
    )
    assert set(bare) == {"iss", "sub", "aud", "client_id", "iat", "exp", "jti"}


def test_a_token_that_passes_is_read_back_as_the_server_acts_on_it() -> None:
    read = check_claims(_claims(), issuer=ISSUER, now=NOW)
    assert (read.subject, read.client_id, read.audience, read.scopes, read.acts_for_client_itself) == (
        "user-sub",
        "app",
        (f"{ISSUER}/api/resource",),
        ("openid", "roles"),
        False,
    )
    assert (read.expires_at, read.auth_time) == (NOW + timedelta(seconds=600), NOW - timedelta(minutes=5))
    assert check_claims(_claims(sub="app"), issuer=ISSUER, now=NOW).acts_for_client_itself is True


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"jti": None}, "The access token lacks jti"),
        ({"iss": "https://evil.example.com"}, "The access token was issued by another server"),
        ({"exp": int(NOW.timestamp())}, "The access token has expired; use the refresh token to get a new one"),
        ({"iat": int(NOW.timestamp()) + 120}, "The access token was issued in the future"),
        ({"aud": []}, "The access token's aud is not a resource identifier"),
        ({"aud": 7}, "The access token's aud is not a resource identifier"),
        ({"sub": ""}, "The access token's sub, client_id, jti and scope must be text"),
        ({"scope": ["openid"]}, "The access token's sub, client_id, jti and scope must be text"),
        ({"exp": "tomorrow"}, "The access token's exp is not a NumericDate"),
        ({"exp": True}, "The access token's exp is not a NumericDate"),
        ({"auth_time": 10**20}, "The access token's auth_time is out of range"),
    ],
    ids=[
        "no-jti",
        "other-issuer",
        "expired",
        "future",
        "empty-aud",
        "number-aud",
        "empty-sub",
        "list-scope",
        "text-exp",
        "bool-exp",
        "huge-auth-time",
    ],
)
def test_a_token_missing_or_spoiling_a_claim_is_refused_saying_which(overrides: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        check_claims(_claims(**overrides), issuer=ISSUER, now=NOW)
    assert refused.value.description == says


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT"])
def test_the_typ_of_an_access_token_is_accepted_in_either_form(typ: str) -> None:
    check_header({"alg": "RS256", "typ": typ})


@pytest.mark.parametrize("header", [{"alg": "RS256", "typ": "JWT"}, {"alg": "RS256"}, {"alg": "RS256", "typ": 1}])
def test_any_other_typ_is_not_an_access_token(header: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken) as refused:
        check_header(header)
    assert refused.value.description == "The access token is a JWT whose typ is not at+jwt"


def test_only_a_compact_jws_looks_like_a_jwt() -> None:
    assert looks_like_jwt("a.b.c")
    assert not looks_like_jwt("8WDhaAOu8sT1w7vmOXdw0KUxU3-Yvm8EnsSTFCoEV1g")
    assert not looks_like_jwt("a.b.c.d.e")


def test_decoding_checks_the_signature_against_the_published_keys_only() -> None:
    ours, theirs = generate_signing_key("ES256", "ours"), generate_signing_key("ES256", "ours")
    token = sign_jwt(_claims(), alg="ES256", private_jwk=ours, typ=TYP)
    header, claims = decode_signed_jwt(token, public_jwks=[public_jwk(ours)])
    assert (header["typ"], header["kid"], claims["jti"]) == (TYP, "ours", "a-jti")
    # Another key under the same kid: the signature does not verify.
    with pytest.raises(ValueError):
        decode_signed_jwt(token, public_jwks=[public_jwk(theirs)])
    # Not base64url, unsigned, not JSON, a header of nested arrays ("[[[" is W1tb).
    for garbage in ("a.b.c", "e30.e30.", "!!!.???.###", "W1tb" * 66 + ".e30.sig"):
        with pytest.raises(ValueError):
            decode_signed_jwt(garbage, public_jwks=[public_jwk(ours)])
