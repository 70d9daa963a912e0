"""The FAPI 2.0 Security Profile's rules, judged purely: what a registration must be, what a request must be."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from gatepass.protocol.errors import InvalidRequest, OAuthError, UnsupportedResponseType
from gatepass.protocol.fapi2_security_profile import (
    RULES,
    check_authorization_request,
    code_lifetime_seconds,
    profile_settings,
    registration_conflict,
    request_uri_lifetime_seconds,
    rotates_refresh_tokens,
)
from gatepass.protocol.values import AuthorizationRequest, ClientInfo

REQUEST = AuthorizationRequest(
    client_id="app-1",
    response_type="code",
    redirect_uri="https://app.example.com/cb",
    redirect_uri_was_sent=True,
    scopes=("openid",),
    state=None,
    code_challenge="c" * 43,
    code_challenge_method="S256",
    nonce=None,
)


@pytest.fixture
def fapi2_client(make_client: Callable[..., ClientInfo]) -> ClientInfo:
    return make_client(
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": []},
        security_profile="fapi2",
        **profile_settings("fapi2"),
    )


def test_a_conforming_client_holds_the_profile_and_one_without_it_is_not_judged(
    fapi2_client: ClientInfo, make_client: Callable[..., ClientInfo]
) -> None:
    assert registration_conflict(fapi2_client) is None
    assert registration_conflict(make_client()) is None


@pytest.mark.parametrize(
    ("changes", "conflict"),
    [
        ({"security_profile": "fapi1"}, ("security_profile", "The security profile must be one of fapi2")),
        (
            {"token_endpoint_auth_method": "client_secret_basic"},
            ("token_endpoint_auth_method", "A FAPI 2.0 client must authenticate with private_key_jwt"),
        ),
        (
            {"token_endpoint_auth_signing_alg": "RS256"},
            ("token_endpoint_auth_signing_alg", "A FAPI 2.0 client signs with PS256, ES256, EdDSA only"),
        ),
        (
            {"request_object_signing_alg": "HS256"},
            ("request_object_signing_alg", "A FAPI 2.0 client signs with PS256, ES256, EdDSA only"),
        ),
        ({"response_types": ("code", "token")}, ("response_types", "A FAPI 2.0 client uses response_type code only")),
        (
            {"grant_types": ("authorization_code", "urn:ietf:params:oauth:grant-type:device_code")},
            ("grant_types", "A FAPI 2.0 client cannot use the urn:ietf:params:oauth:grant-type:device_code grant"),
        ),
        ({"allow_plain_pkce": True}, ("allow_plain_pkce", "A FAPI 2.0 client uses PKCE with S256 only")),
        (
            {"dpop_bound_access_tokens": False},
            ("dpop_bound_access_tokens", "A FAPI 2.0 client keeps dpop_bound_access_tokens on"),
        ),
    ],
    ids=["profile", "auth", "assertion-alg", "object-alg", "response-type", "grant", "plain", "dpop"],
)
def test_each_setting_that_breaks_the_profile_is_named(
    fapi2_client: ClientInfo, changes: dict[str, object], conflict: tuple[str, str]
) -> None:
    assert registration_conflict(dataclasses.replace(fapi2_client, **changes)) == conflict  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "error", "description"),
    [
        (
            {"response_type": "token"},
            UnsupportedResponseType,
            "A FAPI 2.0 client must use response_type=code",
        ),
        (
            {"code_challenge": None, "code_challenge_method": None},
            InvalidRequest,
            "A FAPI 2.0 client must send a PKCE code_challenge with code_challenge_method=S256",
        ),
        (
            {"code_challenge_method": "plain"},
            InvalidRequest,
            "A FAPI 2.0 client must send a PKCE code_challenge with code_challenge_method=S256",
        ),
    ],
    ids=["implicit", "no-pkce", "plain"],
)
def test_a_request_that_breaks_the_code_flow_rules_is_refused(
    changes: dict[str, object], error: type[OAuthError], description: str
) -> None:
    check_authorization_request(REQUEST)
    with pytest.raises(error) as caught:
        check_authorization_request(dataclasses.replace(REQUEST, **changes))  # type: ignore[arg-type]
    assert caught.value.description == description


def test_lifetimes_are_capped_for_the_profile_only(
    fapi2_client: ClientInfo, make_client: Callable[..., ClientInfo]
) -> None:
    assert code_lifetime_seconds(fapi2_client, 300) == 60
    assert code_lifetime_seconds(fapi2_client, 30) == 30
    assert code_lifetime_seconds(make_client(), 300) == 300
    assert request_uri_lifetime_seconds(fapi2_client, 600) == 599
    assert request_uri_lifetime_seconds(make_client(), 600) == 600


def test_refresh_tokens_rotate_for_every_client_but_one_of_the_profile(
    fapi2_client: ClientInfo, make_client: Callable[..., ClientInfo]
) -> None:
    assert rotates_refresh_tokens(fapi2_client) is False
    assert rotates_refresh_tokens(make_client()) is True
    assert rotates_refresh_tokens(dataclasses.replace(fapi2_client, security_profile=None)) is True


def test_every_rule_names_a_clause_of_the_profile() -> None:
    assert {rule["section"] for rule in RULES} == {"5.3.2.1", "5.3.2.2", "5.4"}
    assert len({rule["rule"] for rule in RULES}) == len(RULES)
