"""amr and acr (OpenID Connect Core §2, RFC 8176) and when a request asks for a second factor (§3.1.2.1, §5.5.1.1)."""

from __future__ import annotations

import json

import pytest

from gatepass.protocol.errors import AccessDenied, InvalidRequest, LoginRequired
from gatepass.protocol.oidc.authentication_context import (
    ACR_ONE_FACTOR,
    ACR_TWO_FACTORS,
    acr_of,
    amr_claim,
    federated_amr,
    needs_second_factor,
    parse_acr_request,
)

ESSENTIAL_MFA = json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_TWO_FACTORS]}}})


@pytest.mark.parametrize(
    ("amr", "claim", "acr"),
    [
        (("pwd",), ["pwd"], ACR_ONE_FACTOR),
        (("pwd", "otp"), ["pwd", "otp", "mfa"], ACR_TWO_FACTORS),
        (("fed",), ["fed"], ACR_ONE_FACTOR),
        (("fed", "otp"), ["fed", "otp", "mfa"], ACR_TWO_FACTORS),
    ],
    ids=["password", "password-and-code", "provider", "provider-and-code"],
)
def test_amr_and_acr_say_how_many_factors(amr: tuple[str, ...], claim: list[str], acr: str) -> None:
    assert (amr_claim(amr), acr_of(amr)) == (claim, acr)


@pytest.mark.parametrize(
    ("acr_values", "claims", "expected"),
    [
        (None, None, ((), False)),
        (ACR_TWO_FACTORS, None, ((ACR_TWO_FACTORS,), False)),
        (f"{ACR_TWO_FACTORS} {ACR_ONE_FACTOR}", None, ((ACR_TWO_FACTORS, ACR_ONE_FACTOR), False)),
        (ACR_ONE_FACTOR, ESSENTIAL_MFA, ((ACR_TWO_FACTORS,), True)),
        (
            None,
            json.dumps({"id_token": {"acr": {"essential": True, "value": ACR_TWO_FACTORS}}}),
            ((ACR_TWO_FACTORS,), True),
        ),
        (ACR_TWO_FACTORS, json.dumps({"userinfo": {"email": None}}), ((ACR_TWO_FACTORS,), False)),
    ],
    ids=["none", "acr_values", "several", "claims-over-acr_values", "single-value", "other-claims"],
)
def test_the_acr_asked_for(acr_values: str | None, claims: str | None, expected: tuple[tuple[str, ...], bool]) -> None:
    assert parse_acr_request(acr_values, claims) == expected


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        ("{not json", "claims must be a JSON object"),
        ("[]", "claims must be a JSON object whose id_token member is an object"),
        ('{"id_token": {"acr": true}}', "claims.id_token.acr must be null or an object"),
        ('{"id_token": {"acr": {"values": "x"}}}', "claims.id_token.acr values must be a list of strings"),
    ],
    ids=["not-json", "not-object", "acr-not-object", "values-not-list"],
)
def test_a_malformed_claims_parameter_is_invalid_request(claims: str, description: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_acr_request(None, claims)
    assert raised.value.description == description


def test_a_second_factor_is_needed_only_when_asked_for_and_missing() -> None:
    assert not needs_second_factor((), is_essential=False, amr=("pwd",), prompt=frozenset())
    assert needs_second_factor((ACR_TWO_FACTORS,), is_essential=False, amr=("pwd",), prompt=frozenset())
    assert not needs_second_factor((ACR_TWO_FACTORS,), is_essential=False, amr=("pwd", "otp"), prompt=frozenset())
    # §3.1.2.1: any of the values will do, and the weakest is met already.
    assert not needs_second_factor(
        (ACR_TWO_FACTORS, ACR_ONE_FACTOR), is_essential=False, amr=("pwd",), prompt=frozenset()
    )
    assert not needs_second_factor(("urn:other:gold",), is_essential=False, amr=("pwd",), prompt=frozenset())


def test_prompt_none_cannot_step_up_and_an_unknown_essential_acr_cannot_be_met() -> None:
    with pytest.raises(LoginRequired) as login:
        needs_second_factor((ACR_TWO_FACTORS,), is_essential=True, amr=("pwd",), prompt=frozenset({"none"}))
    assert login.value.description == ("The app asks for a login with a second factor, which this login did not have")
    with pytest.raises(AccessDenied) as denied:
        needs_second_factor(("urn:other:gold",), is_essential=True, amr=("pwd", "otp"), prompt=frozenset())
    assert denied.value.description == (
        f"None of the essential acr values can be met; supported: {ACR_ONE_FACTOR} {ACR_TWO_FACTORS}"
    )


@pytest.mark.parametrize(
    ("upstream", "is_trusted", "expected"),
    [
        (["pwd", "otp", "mfa"], True, ("fed", "pwd", "otp", "mfa")),
        (["pwd", "otp", "mfa"], False, ("fed",)),
        (["pwd", "made-up", 7, "hwk", "pwd"], True, ("fed", "pwd", "hwk")),
        ("pwd", True, ("fed",)),
        (None, True, ("fed",)),
    ],
    ids=["trusted", "untrusted", "unregistered-values-dropped", "not-a-list", "absent"],
)
def test_a_providers_amr_is_passed_on_only_when_trusted(
    upstream: object, is_trusted: bool, expected: tuple[str, ...]
) -> None:
    assert federated_amr(upstream, is_trusted=is_trusted) == expected
