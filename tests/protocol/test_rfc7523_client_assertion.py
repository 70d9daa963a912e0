"""Client assertions (RFC 7523 §2.2, §3; OpenID Connect Core §9): what is read from the form, and every
check that makes a signed JWT the client's, for us, now, and usable once."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from gatepass.protocol.errors import InvalidClient, InvalidRequest
from gatepass.protocol.rfc7523_client_assertion import (
    CLIENT_ASSERTION_TYPE_JWT,
    MAX_LIFETIME_SECONDS,
    ClientAssertion,
    UnknownSigningKey,
    VerifiedAssertion,
    parse_client_assertion,
    verify_client_assertion,
)
from gatepass.protocol.values import AUTH_BASIC, AUTH_CLIENT_SECRET_JWT, AUTH_PRIVATE_KEY_JWT, ClientInfo

ISSUER = "https://id.example.test"
TOKEN_ENDPOINT = f"{ISSUER}/oauth/token"
CLIENT_ID = "assertion-client"
SECRET = "a-client-secret-long-enough-for-hmac-512-0123456789abcdefghijklmnop"
NOW = int(time.time())

_RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
_EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
_OKP = OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"})
KEYS_BY_ALG: dict[str, RSAKey | ECKey | OKPKey] = {"RS256": _RSA, "PS256": _RSA, "ES256": _EC, "EdDSA": _OKP}
CLIENT_JWKS = [dict(key.as_dict(private=False)) for key in (_RSA, _EC, _OKP)]


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": ISSUER,
        "iat": NOW,
        "exp": NOW + 60,
        "jti": "jti-1",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _sign(claims: Mapping[str, Any], alg: str = "RS256", *, kid: str | None = "default", key: Any = None) -> str:
    if alg.startswith("HS"):
        signing_key: Any = key or OctKey.import_key(SECRET.encode())
        header: dict[str, Any] = {"alg": alg}
    else:
        signing_key = key or KEYS_BY_ALG[alg]
        header = {"alg": alg, "kid": signing_key.kid if kid == "default" else kid}
        if header["kid"] is None:
            del header["kid"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode(header, dict(claims), signing_key, algorithms=[alg])


def _form(token: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": CLIENT_ASSERTION_TYPE_JWT, "client_assertion": token, **extra}


def _client(method: str = AUTH_PRIVATE_KEY_JWT, alg: str | None = None) -> ClientInfo:
    return ClientInfo(
        client_id=CLIENT_ID,
        app_name="Assertion App",
        client_type="confidential",
        token_endpoint_auth_method=method,
        secret_digest=None,
        redirect_uris=(),
        default_redirect_uri=None,
        scopes=("openid",),
        grant_types=("client_credentials",),
        response_types=(),
        jwks={"keys": CLIENT_JWKS},
        token_endpoint_auth_signing_alg=alg,
    )


def _verify(token: str, client: ClientInfo | None = None, **options: Any) -> VerifiedAssertion:
    assertion = parse_client_assertion(_form(token))
    assert assertion is not None
    chosen = client or _client()
    keyword: dict[str, Any] = {"audiences": (ISSUER, TOKEN_ENDPOINT), "now": NOW}
    if chosen.token_endpoint_auth_method == AUTH_CLIENT_SECRET_JWT:
        keyword["secret"] = SECRET
    else:
        keyword["public_jwks"] = CLIENT_JWKS
    keyword.update(options)
    return verify_client_assertion(assertion, client=chosen, **keyword)


def test_a_request_without_an_assertion_is_none_of_its_business() -> None:
    assert parse_client_assertion({"client_id": CLIENT_ID, "client_secret": "s"}) is None


def test_the_assertion_names_the_client_and_its_key() -> None:
    token = _sign(_claims())
    assert parse_client_assertion(_form(token, client_id=CLIENT_ID)) == ClientAssertion(
        token=token, alg="RS256", kid="rsa-1", client_id=CLIENT_ID
    )


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"client_assertion": "a.b.c"}, "client_assertion_type must be"),
        ({"client_assertion_type": "urn:other", "client_assertion": "a.b.c"}, "client_assertion_type must be"),
        ({"client_assertion_type": CLIENT_ASSERTION_TYPE_JWT}, "client_assertion is missing"),
        (_form("not-a-jwt"), "three base64url parts"),
        (_form("e30.!!!.sig"), "is not base64url"),
        (_form("WzFd.e30.sig"), "header is not a JSON object"),
        (_form(_sign(_claims(sub="someone-else"))), "iss and sub must both be the client_id"),
        (_form(_sign(_claims(sub=None))), "must have a sub claim"),
        (_form(_sign(_claims()), client_id="another"), "client_id in the body differs"),
    ],
)
def test_an_unusable_assertion_is_refused_saying_what_to_fix(form: dict[str, str], expected: str) -> None:
    with pytest.raises(InvalidClient, match=expected):
        parse_client_assertion(form)


def test_an_unsigned_assertion_is_refused() -> None:
    none_header = "eyJhbGciOiJub25lIn0"  # {"alg":"none"}
    token = f"{none_header}.{_sign(_claims()).split('.')[1]}."
    with pytest.raises(InvalidClient, match="must be signed"):
        parse_client_assertion(_form(token))


def test_a_secret_beside_the_assertion_is_two_methods_at_once() -> None:
    with pytest.raises(InvalidRequest, match="not both"):
        parse_client_assertion(_form(_sign(_claims()), client_secret=SECRET))


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_private_key_jwt_accepts_each_asymmetric_alg_with_the_clients_key(alg: str) -> None:
    verified = _verify(_sign(_claims(), alg))
    assert verified == VerifiedAssertion(client_id=CLIENT_ID, jti="jti-1", expires_at=NOW + 60)


def test_a_key_is_found_by_its_type_when_the_assertion_names_no_kid() -> None:
    assert _verify(_sign(_claims(), "ES256", kid=None)).jti == "jti-1"


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_client_secret_jwt_accepts_each_hmac_alg_with_the_clients_secret(alg: str) -> None:
    assert _verify(_sign(_claims(), alg), _client(AUTH_CLIENT_SECRET_JWT)).client_id == CLIENT_ID


def test_client_secret_jwt_with_another_secret_is_refused() -> None:
    with pytest.raises(InvalidClient, match="does not match the client's secret"):
        _verify(_sign(_claims(), "HS256"), _client(AUTH_CLIENT_SECRET_JWT), secret="another-secret-" * 4)


def test_client_secret_jwt_needs_the_secret_kept() -> None:
    with pytest.raises(InvalidClient, match="rotate-secret"):
        _verify(_sign(_claims(), "HS256"), _client(AUTH_CLIENT_SECRET_JWT), secret=None)


def test_a_key_that_is_not_the_clients_is_refused() -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
    with pytest.raises(InvalidClient, match="does not match the client's registered keys") as refused:
        _verify(_sign(_claims(), key=stranger))
    assert not isinstance(refused.value, UnknownSigningKey)


def test_an_unknown_kid_is_told_apart_so_the_keys_can_be_read_again() -> None:
    with pytest.raises(UnknownSigningKey, match="kid 'rotated'"):
        _verify(_sign(_claims(), kid="rotated"))


@pytest.mark.parametrize(
    ("client", "alg", "expected"),
    [
        (_client(alg="ES256"), "RS256", "must be signed with ES256"),
        (_client(), "HS256", "private_key_jwt client_assertion must be signed with one of"),
        (_client(AUTH_CLIENT_SECRET_JWT), "RS256", "client_secret_jwt client_assertion must be signed with one of"),
        (_client(AUTH_BASIC), "RS256", "registered for client_secret_basic"),
    ],
)
def test_the_alg_must_be_one_the_client_may_use(client: ClientInfo, alg: str, expected: str) -> None:
    with pytest.raises(InvalidClient, match=expected):
        _verify(_sign(_claims(), alg), client)


def test_the_endpoint_url_or_a_list_holding_the_issuer_are_audiences_too() -> None:
    assert _verify(_sign(_claims(aud=TOKEN_ENDPOINT))).jti == "jti-1"
    assert _verify(_sign(_claims(aud=["https://other.example", ISSUER]))).jti == "jti-1"
    # A security profile narrows the algs only: FAPI 2.0 (final) §5.3.2.1 accepts the issuer in an array too.
    profiled = {"profile_algorithms": ("PS256", "ES256", "EdDSA")}
    assert _verify(_sign(_claims(aud=[ISSUER]), "PS256"), _client(alg="PS256"), **profiled).jti == "jti-1"
    assert _verify(_sign(_claims(aud=TOKEN_ENDPOINT), "PS256"), _client(alg="PS256"), **profiled).jti == "jti-1"


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (_claims(aud="https://other.example"), "aud must be this server's issuer, https://id.example.test"),
        (_claims(aud=None), "aud must be"),
        (_claims(exp=None), "must have an exp claim"),
        (_claims(exp=NOW - 31, iat=NOW - 90), "has expired"),
        (_claims(exp="soon"), "exp must be a number"),
        (_claims(exp=NOW + MAX_LIFETIME_SECONDS + 60), "lives too long"),
        (_claims(iat=NOW + 120, exp=NOW + 180), "iat is in the future"),
        (_claims(nbf=NOW + 120), "nbf is in the future"),
        (_claims(jti=None), "must have a jti claim"),
        (_claims(jti=""), "must have a jti claim"),
        (_claims(jti="x" * 257), "must have a jti claim"),
    ],
)
def test_an_assertion_not_for_us_now_or_once_is_refused(claims: dict[str, Any], expected: str) -> None:
    with pytest.raises(InvalidClient, match=expected):
        _verify(_sign(claims))


def test_a_little_clock_skew_is_forgiven() -> None:
    assert _verify(_sign(_claims(iat=NOW + 20, nbf=NOW + 20, exp=NOW + 20 + MAX_LIFETIME_SECONDS))).jti == "jti-1"
    assert _verify(_sign(_claims(iat=NOW - 80, exp=NOW - 20))).expires_at == NOW - 20
