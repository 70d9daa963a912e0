"""Request objects (RFC 9101), judged purely: what is read from the JWT, what is refused and why."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from gatepass.protocol.errors import InvalidRequest, InvalidRequestObject
from gatepass.protocol.fapi2_security_profile import ALGORITHMS as FAPI2_ALGORITHMS
from gatepass.protocol.rfc9101_request_object import (
    ALGORITHMS,
    UnknownRequestObjectKey,
    allowed_algorithms,
    check_request_parameters,
    parse_request_object,
    verify_request_object,
)
from gatepass.protocol.values import ClientInfo

ISSUER = "https://id.example.com"
NOW = 1_800_000_000
KEY = ECKey.generate_key("P-256", parameters={"kid": "k1"})


def _sign(claims: dict[str, Any], *, header: dict[str, Any] | None = None, key: Any = KEY, alg: str = "ES256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode(header or {"alg": alg, "kid": "k1", "typ": "oauth-authz-req+jwt"}, claims, key, [alg])


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": "app-1",
        "aud": ISSUER,
        "client_id": "app-1",
        "exp": NOW + 60,
        "nbf": NOW,
        "response_type": "code",
        "scope": "openid",
        "max_age": 300,
        "claims": {"id_token": {"acr": {"essential": True}}},
        **changes,
    }
    return {k: v for k, v in claims.items() if v is not None}


def _verify(token: str, client: ClientInfo, **options: Any) -> dict[str, str]:
    arguments: dict[str, Any] = {"algorithms": ALGORITHMS, "public_jwks": [KEY.as_dict(private=False)], **options}
    return verify_request_object(parse_request_object(token), client=client, issuer=ISSUER, now=NOW, **arguments)


def test_the_objects_claims_become_the_request_parameters(make_client: Callable[..., ClientInfo]) -> None:
    params = _verify(_sign(_claims()), make_client())
    assert params == {
        "client_id": "app-1",
        "response_type": "code",
        "scope": "openid",
        "max_age": "300",
        "claims": '{"id_token":{"acr":{"essential":true}}}',
    }


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        (_claims(aud="https://other.example"), f"The request object's aud must be this server's issuer, {ISSUER}"),
        (_claims(iss="app-2"), "The request object's iss must be the client_id"),
        (_claims(client_id="app-2"), "The request object's client_id differs from the client_id of the request"),
        (_claims(exp=None), "The request object must have an exp claim: a few minutes from now"),
        (_claims(exp=NOW - 31), "The request object has expired: make a new one for each authorization request"),
        (_claims(nbf=NOW + 120), "The request object's nbf is in the future: it is not valid yet"),
        (
            _claims(exp=NOW + 900),
            "The request object lives too long: its exp may be at most 600 seconds after its nbf (or from now)",
        ),
        (_claims(request="x"), "A request object must not contain request"),
        (_claims(scope=["openid"]), "The request object's scope claim must be a string"),
        (
            _claims(state="a\x01b"),
            "The request object's claims are unusable: Parameter 'state' contains control characters",
        ),
    ],
    ids=["aud", "iss", "client_id", "no-exp", "expired", "nbf", "lifetime", "nested", "list", "control"],
)
def test_claims_that_cannot_be_trusted_are_refused(
    make_client: Callable[..., ClientInfo], claims: dict[str, Any], description: str
) -> None:
    with pytest.raises(InvalidRequestObject) as caught:
        _verify(_sign(claims), make_client())
    assert caught.value.description == description
    assert caught.value.redirectable is False


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


@pytest.mark.parametrize(
    ("token", "description"),
    [
        (_unsigned(_claims(), {"alg": "none"}), "The request object must be signed: alg none is not accepted"),
        (_unsigned(_claims(), {"alg": "NONE"}), "The request object must be signed: alg none is not accepted"),
        ("a.b", "The request object is not a signed JWT: it must be three base64url parts"),
        ("a.b.c.d.e", "Encrypted request objects are not supported: send a signed JWT"),
        ("!!.e30.sig", "The request object is not a JWT: its header is not base64url"),
        (
            _sign(_claims(), header={"alg": "ES256", "typ": "dpop+jwt"}),
            "The request object's typ must be oauth-authz-req+jwt",
        ),
    ],
    ids=["none", "NONE", "two-parts", "encrypted", "not-base64", "other-typ"],
)
def test_what_is_not_a_signed_request_object_is_refused(token: str, description: str) -> None:
    with pytest.raises(InvalidRequestObject) as caught:
        parse_request_object(token)
    assert caught.value.description == description


def test_another_key_and_another_alg_are_refused(make_client: Callable[..., ClientInfo]) -> None:
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    with pytest.raises(InvalidRequestObject, match="signature does not match the client's registered keys"):
        _verify(_sign(_claims(), key=stranger), make_client())
    with pytest.raises(UnknownRequestObjectKey):
        _verify(_sign(_claims(), header={"alg": "ES256", "kid": "k2"}), make_client())
    with pytest.raises(InvalidRequestObject) as caught:
        _verify(_sign(_claims()), make_client(), algorithms=("PS256",))
    assert caught.value.description == "The request object must be signed with one of PS256"


def test_an_hmac_object_needs_the_kept_secret(make_client: Callable[..., ClientInfo]) -> None:
    token = _sign(_claims(), header={"alg": "HS256"}, key=OctKey.import_key(b"s" * 32), alg="HS256")
    assert _verify(token, make_client(), secret="s" * 32)["scope"] == "openid"
    with pytest.raises(InvalidRequestObject, match="secret is not kept"):
        _verify(token, make_client())


def test_the_algs_a_client_may_use(make_client: Callable[..., ClientInfo]) -> None:
    assert allowed_algorithms(make_client()) == ALGORITHMS
    assert allowed_algorithms(make_client(request_object_signing_alg="ES256")) == ("ES256",)
    assert allowed_algorithms(make_client(), profile_algorithms=FAPI2_ALGORITHMS) == ("PS256", "ES256", "EdDSA")
    assert (
        allowed_algorithms(make_client(request_object_signing_alg="RS256"), profile_algorithms=FAPI2_ALGORITHMS) == ()
    )


def test_request_and_request_uri_together_are_refused() -> None:
    check_request_parameters({"request": "x"})
    check_request_parameters({"request_uri": "x"})
    with pytest.raises(InvalidRequest) as caught:
        check_request_parameters({"request": "x", "request_uri": "y"})
    assert caught.value.description == "Send request or request_uri, not both (RFC 9101 section 5)"
