"""The client credentials grant (RFC 6749 §4.4): confidential clients with a service user only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gatepass.protocol.errors import InvalidScope, OAuthError, UnauthorizedClient
from gatepass.protocol.rfc6749.client_credentials import check_client_credentials_grant
from gatepass.protocol.values import GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, ClientInfo

SERVICE_CLIENT: dict[str, Any] = {
    "grant_types": (GRANT_CLIENT_CREDENTIALS,),
    "service_user_id": 42,
    "scopes": ("openid", "documents:read", "documents:write"),
}

GRANTED: dict[str, tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]] = {
    "no scope requested: registered scopes without openid": ({}, (), ("documents:read", "documents:write")),
    "requested subset": ({}, ("documents:read",), ("documents:read",)),
    "no scope requested and only openid registered": ({"scopes": ("openid",)}, (), ()),
}


@pytest.mark.parametrize(("overrides", "requested", "expected"), list(GRANTED.values()), ids=list(GRANTED))
def test_client_credentials_grant_returns_the_scopes_to_issue(
    make_client: Callable[..., ClientInfo],
    overrides: dict[str, Any],
    requested: tuple[str, ...],
    expected: tuple[str, ...],
) -> None:
    client = make_client(**{**SERVICE_CLIENT, **overrides})

    assert check_client_credentials_grant(client, requested) == expected


REFUSED: dict[str, tuple[dict[str, Any], tuple[str, ...], type[OAuthError], str]] = {
    "public client": (
        {"client_type": "public", "token_endpoint_auth_method": "none", "secret_digest": None},
        (),
        UnauthorizedClient,
        "Public clients cannot use the client_credentials grant",
    ),
    "grant not enabled for the client": (
        {"grant_types": (GRANT_AUTHORIZATION_CODE,)},
        (),
        UnauthorizedClient,
        "This client is not allowed to use the client_credentials grant",
    ),
    "no service user assigned": (
        {"service_user_id": None},
        (),
        UnauthorizedClient,
        "This client has no service user; an administrator must assign one "
        "(gatepass client update CLIENT_ID --service-user EMAIL)",
    ),
    "scope not registered": (
        {},
        ("documents:read", "admin"),
        InvalidScope,
        "Scope 'admin' is not registered for this client",
    ),
}


@pytest.mark.parametrize(
    ("overrides", "requested", "error_class", "description"), list(REFUSED.values()), ids=list(REFUSED)
)
def test_client_credentials_grant_refuses(
    make_client: Callable[..., ClientInfo],
    overrides: dict[str, Any],
    requested: tuple[str, ...],
    error_class: type[OAuthError],
    description: str,
) -> None:
    client = make_client(**{**SERVICE_CLIENT, **overrides})

    with pytest.raises(error_class) as caught:
        check_client_credentials_grant(client, requested)

    assert type(caught.value) is error_class
    assert caught.value.description == description


def test_public_client_is_refused_before_the_service_user_is_looked_at(make_client: Callable[..., ClientInfo]) -> None:
    client = make_client(**{**SERVICE_CLIENT, "client_type": "public", "service_user_id": None})

    with pytest.raises(UnauthorizedClient) as caught:
        check_client_credentials_grant(client, ())

    assert caught.value.error == "unauthorized_client"
    assert caught.value.description == "Public clients cannot use the client_credentials grant"
