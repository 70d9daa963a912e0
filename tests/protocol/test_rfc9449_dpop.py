"""DPoP proofs (RFC 9449 §4.3) checked purely: every algorithm a client may use, each check in the RFC's
order with the refusal it gives, the thumbprint of RFC 7638's example key, htu normalization, the server's
nonces and the resource server's challenge."""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from gatepass.protocol.errors import InvalidDpopProof, InvalidGrant, InvalidRequest, InvalidToken, UseDpopNonce
from gatepass.protocol.jose import jwk_thumbprint
from gatepass.protocol.rfc9449_dpop import (
    DPOP_ALGORITHMS,
    NONCE_WINDOW_SECONDS,
    access_token_hash,
    bind_pushed_params,
    build_dpop_challenge,
    check_bound_key,
    check_dpop_proof,
    current_nonces,
    normalized_htu,
    parse_dpop_authorization,
    parse_dpop_jkt,
    read_dpop_header,
)

NOW = 1_800_000_000
URL = "https://id.example.test/oauth/token"
_RSA = RSAKey.generate_key(2048)
_EC = ECKey.generate_key("P-256")
_OKP = OKPKey.generate_key("Ed25519")
KEYS: dict[str, RSAKey | ECKey | OKPKey] = {"RS256": _RSA, "PS256": _RSA, "ES256": _EC, "EdDSA": _OKP}
#: RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_KEY = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMst"
    "n64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91"
    "CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def proof(alg: str = "ES256", *, header: dict[str, Any] | None = None, **claims: Any) -> str:
    key = KEYS[alg]
    protected = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False), **(header or {})}
    payload = {"jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW, **claims}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*EdDSA.*")
        return jwt.encode(
            {k: v for k, v in protected.items() if v is not None},
            {k: v for k, v in payload.items() if v is not None},
            key,
            algorithms=[alg],
        )


def handmade(**header: Any) -> str:
    """A header no library makes (alg none, crit it does not know): the parts by hand, with no signature."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    protected = {"typ": "dpop+jwt", "alg": "ES256", "jwk": _EC.as_dict(private=False), **header}
    return f"{part(protected)}.{part({'jti': 'j-1', 'htm': 'POST', 'htu': URL, 'iat': NOW})}."


@pytest.mark.parametrize("alg", DPOP_ALGORITHMS)
def test_a_proof_of_each_algorithm_gives_its_keys_thumbprint(alg: str) -> None:
    checked = check_dpop_proof(proof(alg), method="POST", uri=URL, now=NOW)
    assert checked.jkt == KEYS[alg].thumbprint()
    assert (checked.jti, checked.remember_until) == ("j-1", NOW + 70)


def test_the_thumbprint_of_rfc_7638s_example_key() -> None:
    assert jwk_thumbprint(json.dumps(RFC7638_KEY)) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    ("token", "description"),
    [
        ("a.b", "The DPoP proof is not a JWT: it must be three base64url parts joined by dots"),
        (proof(header={"typ": "JWT"}), "The DPoP proof's header must have typ dpop+jwt"),
        (handmade(alg="none"), "The DPoP proof must be signed with one of ES256, PS256, RS256, EdDSA"),
        (proof(header={"jwk": None}), "The DPoP proof's header must carry the public key as jwk"),
        (
            handmade(crit=["exp"], exp=1),
            "The DPoP proof's header names crit extensions, which this server does not support",
        ),
        (
            proof(header={"jwk": _EC.as_dict(private=True)}),
            "The DPoP proof's jwk must be a public key: it holds a private key's members",
        ),
        (proof(header={"jwk": _RSA.as_dict(private=False)}), "The DPoP proof's jwk must be an EC key for ES256"),
        (
            proof(header={"jwk": ECKey.generate_key("P-256").as_dict(private=False)}),
            "The DPoP proof's signature does not verify with the jwk in its header",
        ),
        (proof(jti=None), "The DPoP proof needs a jti: a unique string of at most 256 characters"),
        (proof(htm="GET"), "The DPoP proof's htm must be the request's method, POST"),
        (proof(htu="https://id.example.test/oauth/par"), f"The DPoP proof's htu must be the URL it is sent to, {URL}"),
        (proof(iat=None), "The DPoP proof needs an iat: the time it was made, in seconds since the epoch"),
        (
            proof(iat=NOW - 61),
            "The DPoP proof's iat is not within 60 seconds of the server's time: make a new proof for each request",
        ),
        (
            proof(iat=NOW + 11),
            "The DPoP proof's iat is not within 60 seconds of the server's time: make a new proof for each request",
        ),
    ],
    ids=[
        "two parts",
        "typ",
        "alg none",
        "no jwk",
        "crit",
        "private jwk",
        "jwk of another type",
        "signed by another key",
        "no jti",
        "htm",
        "htu",
        "no iat",
        "old iat",
        "future iat",
    ],
)
def test_each_bad_proof_is_refused_saying_what_to_fix(token: str, description: str) -> None:
    with pytest.raises(InvalidDpopProof) as refused:
        check_dpop_proof(token, method="POST", uri=URL, now=NOW)
    assert refused.value.description == description


def test_htu_is_compared_without_query_and_fragment_after_normalization() -> None:
    assert normalized_htu("HTTPS://ID.Example.TEST:443/oauth/token?x=1#f") == URL
    assert normalized_htu("http://127.0.0.1:8000") == "http://127.0.0.1:8000/"
    checked = check_dpop_proof(proof(htu=URL + "?a=b"), method="POST", uri=URL + "?c=d", now=NOW)
    assert checked.jti == "j-1"


def test_at_a_resource_ath_must_be_the_hash_of_the_token_sent() -> None:
    token = "an-access-token"
    made = proof(htm="GET", ath=access_token_hash(token))
    assert check_dpop_proof(made, method="GET", uri=URL, now=NOW, access_token=token).jti == "j-1"
    with pytest.raises(InvalidDpopProof, match="ath is not the hash"):
        check_dpop_proof(made, method="GET", uri=URL, now=NOW, access_token="another-token")
    with pytest.raises(InvalidDpopProof, match="needs ath"):
        check_dpop_proof(proof(htm="GET"), method="GET", uri=URL, now=NOW, access_token=token)


def test_nonces_change_with_the_window_and_the_previous_one_is_still_accepted() -> None:
    key = b"k" * 32
    current, previous = current_nonces(key, NOW)
    assert current != previous
    assert current_nonces(key, NOW + NONCE_WINDOW_SECONDS)[1] == current
    assert current_nonces(b"x" * 32, NOW)[0] != current
    for accepted in (current, previous):
        check_dpop_proof(proof(nonce=accepted), method="POST", uri=URL, now=NOW, nonces=(current, previous))
    for sent, description in ((None, "Use the nonce"), ("stale", "The DPoP proof's nonce is not current")):
        with pytest.raises(UseDpopNonce) as asked:
            check_dpop_proof(
                proof(nonce=sent), method="POST", uri=URL, now=NOW, nonces=(current, previous), current_nonce=current
            )
        assert asked.value.description.startswith(description)
        assert asked.value.nonce == current


def test_headers_and_authorization() -> None:
    assert read_dpop_header([]) is None
    assert read_dpop_header([" a.b.c "]) == "a.b.c"
    with pytest.raises(InvalidDpopProof, match="Send one DPoP header"):
        read_dpop_header(["a.b.c", "d.e.f"])
    assert parse_dpop_authorization("DPoP abc.def") == "abc.def"
    assert parse_dpop_authorization("Bearer abc") is None
    with pytest.raises(InvalidToken, match="must be 'DPoP <token>'"):
        parse_dpop_authorization("DPoP a b")


def test_codes_and_refresh_tokens_bound_to_a_key_need_its_proof() -> None:
    check_bound_key(None, None, what="This code")
    check_bound_key("k1", "k1", what="This code")
    with pytest.raises(InvalidGrant, match="This code is bound to a DPoP key: send a DPoP proof"):
        check_bound_key("k1", None, what="This code")
    with pytest.raises(InvalidGrant, match="bound to another DPoP key"):
        check_bound_key("k1", "k2", what="This code")


def test_dpop_jkt_and_a_pushed_proof() -> None:
    jkt = _EC.thumbprint()
    assert parse_dpop_jkt(jkt) == jkt
    with pytest.raises(InvalidRequest):
        parse_dpop_jkt("not-a-thumbprint")
    assert bind_pushed_params({"scope": "openid"}, jkt) == {"scope": "openid", "dpop_jkt": jkt}
    with pytest.raises(InvalidDpopProof):
        bind_pushed_params({"dpop_jkt": _OKP.thumbprint()}, jkt)


def test_the_resource_servers_challenge_names_the_algs() -> None:
    assert build_dpop_challenge(realm="https://id", error="invalid_token", description="Expired") == (
        'DPoP realm="https://id", error="invalid_token", error_description="Expired", algs="ES256 PS256 RS256 EdDSA"'
    )
