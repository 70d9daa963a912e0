"""Introspection responses for active tokens (RFC 7662 §2.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gatepass.protocol.rfc7662_introspection import build_introspection_response

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
