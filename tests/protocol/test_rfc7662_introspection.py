"""Introspection responses for active tokens (RFC 7662 §2.2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gatepass.protocol.rfc7662_introspection import build_introspection_response, is_allowed_to_introspect
from gatepass.protocol.values import ClientInfo

ISSUED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ISSUED_AT_EPOCH = 1772366400


def _build(**changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "issuer": "https://id.example.com",
        "client_id": "app-1",
        "is_trusted_client": False,
        "scopes": ("openid", "documents:read"),
        "issued_at": ISSUED_AT,
        "expires_at": ISSUED_AT + timedelta(hours=1),
        "token_type": "access_token",
        "subject": "user-7",
        "username": "ada@example.com",
        "audience": "https://api.example.com",
        "user_fields": None,
        **changes,
    }
    return build_introspection_response(**arguments)


def test_active_access_token_response_has_exactly_these_members() -> None:
    assert _build() == {
        "active": True,
        "client_id": "app-1",
        "trusted_client": 0,
        "scope": "openid documents:read",
        "exp": ISSUED_AT_EPOCH + 3600,
        "iat": ISSUED_AT_EPOCH,
        "token_type": "Bearer",
        "aud": "https://api.example.com",
        "iss": "https://id.example.com",
        "sub": "user-7",
        "username": "ada@example.com",
    }


SHAPES: dict[str, tuple[dict[str, Any], dict[str, Any], tuple[str, ...]]] = {
    "refresh token type": ({"token_type": "refresh_token"}, {"token_type": "refresh_token"}, ()),
    "trusted client is 1": ({"is_trusted_client": True}, {"trusted_client": 1}, ()),
    "no iat when issue time is unknown": ({"issued_at": None}, {}, ("iat",)),
    "no sub or username for a client token": ({"subject": None, "username": None}, {}, ("sub", "username")),
    "no scopes: empty scope": ({"scopes": ()}, {"scope": ""}, ()),
    "user fields are added": ({"user_fields": {"email": "ada@example.com"}}, {"email": "ada@example.com"}, ()),
}


@pytest.mark.parametrize(("changes", "expected", "absent"), list(SHAPES.values()), ids=list(SHAPES))
def test_introspection_response_members_follow_the_token(
    changes: dict[str, Any], expected: dict[str, Any], absent: tuple[str, ...]
) -> None:
    body = _build(**changes)

    assert {name: body[name] for name in expected} == expected
    assert [name for name in absent if name in body] == []
    assert body["active"] is True


def test_user_fields_cannot_override_the_standard_members() -> None:
    body = _build(user_fields={"active": False, "client_id": "app-2", "iss": "https://evil.example", "exp": 0})

    assert (body["active"], body["client_id"], body["iss"], body["exp"]) == (
        True,
        "app-1",
        "https://id.example.com",
        ISSUED_AT_EPOCH + 3600,
    )


def test_expiry_is_whole_seconds_since_the_epoch() -> None:
    body = _build(expires_at=ISSUED_AT + timedelta(seconds=59, microseconds=999_999))

    assert body["exp"] == ISSUED_AT_EPOCH + 59
    assert isinstance(body["exp"], int)


# -- who may introspect whose tokens (§4) ----------------------------------------------------------

MAY_INTROSPECT: dict[str, tuple[dict[str, Any], str, bool]] = {
    "its own token": ({}, "app-1", True),
    "another client's token": ({}, "app-2", False),
    "a resource server, another client's token": ({"is_resource_server": True}, "app-2", True),
    "a Frappe-legacy client, another client's token": ({"is_frappe_legacy": True}, "app-2", True),
    "a public client, its own token": ({"client_type": "public"}, "app-1", True),
    "a public client marked anyway, another client's token": (
        {"client_type": "public", "is_resource_server": True, "is_frappe_legacy": True},
        "app-2",
        False,
    ),
}


@pytest.mark.parametrize(
    ("caller", "token_client_id", "expected"), list(MAY_INTROSPECT.values()), ids=list(MAY_INTROSPECT)
)
def test_only_the_tokens_client_resource_servers_and_frappe_legacy_clients_may_introspect(
    make_client: Callable[..., ClientInfo], caller: dict[str, Any], token_client_id: str, expected: bool
) -> None:
    assert is_allowed_to_introspect(make_client(**caller), token_client_id) is expected
