"""The frozen values that cross layers: derived properties and immutability."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from gatepass.protocol.values import AuthorizationRequest, ClientInfo, Principal, RedirectTarget


@pytest.mark.parametrize(
    ("client_type", "is_public"), [("public", True), ("confidential", False)], ids=["public", "confidential"]
)
def test_client_is_public_follows_its_client_type(
    make_client: Callable[..., ClientInfo], client_type: str, is_public: bool
) -> None:
    assert make_client(client_type=client_type).is_public is is_public


def test_new_clients_default_to_the_strict_policy(make_client: Callable[..., ClientInfo]) -> None:
    client = make_client()

    assert (client.require_pkce, client.allow_plain_pkce, client.is_frappe_legacy, client.is_enabled) == (
        True,
        False,
        False,
        True,
    )


@pytest.mark.parametrize(
    ("response_type", "use_fragment"),
    [("code", False), ("token", True), ("id_token", True), ("id_token token", True)],
    ids=["code in the query", "token in the fragment", "id_token in the fragment", "id_token token in the fragment"],
)
def test_authorization_request_target_chooses_query_or_fragment(response_type: str, use_fragment: bool) -> None:
    request = AuthorizationRequest(
        client_id="app-1",
        response_type=response_type,
        redirect_uri="https://app.example.com/callback",
        redirect_uri_was_sent=True,
        scopes=("openid",),
        state="xyz",
        code_challenge=None,
        code_challenge_method=None,
        nonce="n-1",
    )

    assert request.target == RedirectTarget("https://app.example.com/callback", "xyz", use_fragment=use_fragment)


@pytest.mark.parametrize(
    ("scope", "expected"), [("documents:read", True), ("documents:write", False)], ids=["granted", "not granted"]
)
def test_principal_has_scope(scope: str, expected: bool) -> None:
    principal = Principal(user_id=7, client_id="app-1", scopes=frozenset({"documents:read"}))

    assert principal.has_scope(scope) is expected


def test_values_are_frozen(make_client: Callable[..., ClientInfo]) -> None:
    client = make_client()

    with pytest.raises(dataclasses.FrozenInstanceError):
        client.is_enabled = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("allowed_roles", "user_roles", "expected"),
    [
        ((), (), True),
        (("Manager",), ("Manager", "Clerk"), True),
        (("Manager", "Auditor"), ("Auditor",), True),
        (("Manager",), ("Clerk",), False),
        (("Manager",), (), False),
    ],
    ids=["no roles named", "one of them", "any one of several", "none of them", "a user without roles"],
)
def test_a_client_naming_allowed_roles_admits_only_users_with_one_of_them(
    make_client: Callable[..., ClientInfo], allowed_roles: tuple[str, ...], user_roles: tuple[str, ...], expected: bool
) -> None:
    assert make_client(allowed_roles=allowed_roles).is_allowed_for(user_roles) is expected
