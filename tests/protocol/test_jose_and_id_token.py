"""Signing and checking JWTs (protocol/jose.py) and the id_token's claims (protocol/oidc/id_token.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from gatepass.protocol.errors import InvalidRequest
from gatepass.protocol.jose import generate_signing_key, public_jwk, sign_jwt, unverified_claims, verify_jwt
from gatepass.protocol.oidc.id_token import build_id_token_claims, token_hash

ISSUER = "https://id.example"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _header(token: str) -> dict[str, object]:
    part = token.split(".")[0]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_a_token_signed_with_a_new_key_verifies_with_its_public_half(alg: str) -> None:
    private = generate_signing_key(alg, f"kid-{alg}")
    public = public_jwk(private)
    assert (public["kid"], public["alg"], public["use"]) == (f"kid-{alg}", alg, "sig")
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(public), "the public JWK carries no private parameter"
    claims = {"iss": ISSUER, "sub": "u-1", "aud": "app", "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60}
    token = sign_jwt(claims, alg=alg, private_jwk=private)
    assert _header(token) == {"alg": alg, "typ": "JWT", "kid": f"kid-{alg}"}
    assert verify_jwt(token, public_jwks=[public], issuer=ISSUER, audience="app", now=int(NOW.timestamp())) == claims


def test_refusals_another_key_a_tampered_payload_the_wrong_issuer_or_audience_and_expiry() -> None:
    private, other = generate_signing_key("ES256", "a"), generate_signing_key("ES256", "b")
    now = int(NOW.timestamp())
    claims = {"iss": ISSUER, "sub": "u-1", "aud": "app", "iat": now, "exp": now + 60}
    token = sign_jwt(claims, alg="ES256", private_jwk=private)
    header, _payload, signature = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "admin"}).encode()).rstrip(b"=").decode()
    attempts = {
        "another key": dict(token=token, public_jwks=[public_jwk(other)], issuer=ISSUER, now=now),
        "a tampered payload": dict(
            token=f"{header}.{forged}.{signature}", public_jwks=[public_jwk(private)], issuer=ISSUER, now=now
        ),
        "another issuer": dict(token=token, public_jwks=[public_jwk(private)], issuer="https://evil.example", now=now),
        "another audience": dict(
            token=token, public_jwks=[public_jwk(private)], issuer=ISSUER, audience="other", now=now
        ),
        "expiry (past the 30 s leeway)": dict(
            token=token, public_jwks=[public_jwk(private)], issuer=ISSUER, now=now + 91
        ),
    }
    for name, arguments in attempts.items():
        with pytest.raises(InvalidRequest):
            verify_jwt(**arguments)  # type: ignore[arg-type]
            pytest.fail(f"{name} was accepted")
    expired = verify_jwt(token, public_jwks=[public_jwk(private)], issuer=ISSUER, now=now + 3600, check_expiry=False)
    assert expired["sub"] == "u-1", "an expired id_token_hint still names its user"


def test_hs256_signs_with_the_client_secret_and_needs_it() -> None:
    claims = {"iss": ISSUER, "sub": "u-1", "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60}
    token = sign_jwt(claims, alg="HS256", secret="s" * 43)
    assert "kid" not in _header(token)
    assert verify_jwt(token, public_jwks=[], issuer=ISSUER, now=int(NOW.timestamp()), secret="s" * 43) == claims
    with pytest.raises(InvalidRequest):
        verify_jwt(token, public_jwks=[], issuer=ISSUER, now=int(NOW.timestamp()), secret="t" * 43)
    with pytest.raises(ValueError, match="client secret"):
        sign_jwt(claims, alg="HS256")
    with pytest.raises(ValueError, match="asymmetric"):
        generate_signing_key("HS256", "k")


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("only.two", "three base64url parts"),
        ("a.e30.sig", "header is not base64url"),
        (f"{base64.urlsafe_b64encode(b'[1]').decode()}.e30.sig", "header is not a JSON object"),
        (f"e30.{base64.urlsafe_b64encode(b'{bad').decode()}.sig", "payload"),
    ],
)
def test_an_id_token_hint_that_is_not_a_jwt_is_refused_with_the_reason(token: str, says: str) -> None:
    with pytest.raises(InvalidRequest, match=says):
        unverified_claims(token)


def test_unverified_claims_reads_the_payload() -> None:
    token = sign_jwt({"sub": "u-1", "aud": "app"}, alg="HS256", secret="s" * 43)
    assert unverified_claims(token) == {"sub": "u-1", "aud": "app"}


def test_at_hash_is_the_left_half_of_the_algorithms_hash() -> None:
    value = "jHkWEdUXMU1BwAsC4vtUsZwnNJ2TEmGqNq2oIbS1vHc"
    sha256 = hashlib.sha256(value.encode()).digest()[:16]
    sha512 = hashlib.sha512(value.encode()).digest()[:32]
    assert token_hash(value, "RS256") == base64.urlsafe_b64encode(sha256).rstrip(b"=").decode()
    assert token_hash(value, "ES256") == token_hash(value, "RS256")
    assert token_hash(value, "EdDSA") == base64.urlsafe_b64encode(sha512).rstrip(b"=").decode()


def test_id_token_claims_carry_the_user_claims_and_every_required_claim() -> None:
    claims = build_id_token_claims(
        issuer=ISSUER,
        subject="u-1",
        client_id="app",
        now=NOW,
        ttl_seconds=300,
        auth_time=NOW - timedelta(minutes=5),
        nonce="n-0S6",
        alg="RS256",
        access_token="at",
        code="c",
        user_claims={"email": "ada@example.com", "sub": "ignored"},
    )
    iat = int(NOW.timestamp())
    assert claims == {
        "email": "ada@example.com",
        "iss": ISSUER,
        "sub": "u-1",
        "aud": "app",
        "azp": "app",
        "iat": iat,
        "exp": iat + 300,
        "auth_time": iat - 300,
        "nonce": "n-0S6",
        "at_hash": token_hash("at", "RS256"),
        "c_hash": token_hash("c", "RS256"),
    }
    bare = build_id_token_claims(
        issuer=ISSUER,
        subject="u-1",
        client_id="app",
        now=NOW,
        ttl_seconds=300,
        auth_time=None,
        nonce=None,
        alg="RS256",
        access_token=None,
        code=None,
        user_claims={},
    )
    assert not {"auth_time", "nonce", "at_hash", "c_hash"} & set(bare)
