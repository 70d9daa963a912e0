"""The successful token response (RFC 6749 §5.1): exact body and no-store headers."""

from __future__ import annotations

from typing import Any

import pytest

from gatepass.protocol.rfc6749.token_response import NO_STORE_HEADERS, build_token_response
from gatepass.protocol.values import IssuedTokens

BODIES: dict[str, tuple[IssuedTokens, dict[str, Any]]] = {
    "access token only": (
        IssuedTokens(access_token="at-1", expires_in=3600, scopes=("documents:read",)),
        {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "scope": "documents:read"},
    ),
    "with refresh and id tokens": (
        IssuedTokens(
            access_token="at-1",
            expires_in=600,
            scopes=("openid", "profile"),
            refresh_token="rt-1",
            id_token="eyJhbGciOiJSUzI1NiJ9.e30.sig",
        ),
        {
            "access_token": "at-1",
            "token_type": "Bearer",
            "expires_in": 600,
            "scope": "openid profile",
            "refresh_token": "rt-1",
            "id_token": "eyJhbGciOiJSUzI1NiJ9.e30.sig",
        },
    ),
    "no scopes: empty scope string": (
        IssuedTokens(access_token="at-1", expires_in=60, scopes=()),
        {"access_token": "at-1", "token_type": "Bearer", "expires_in": 60, "scope": ""},
    ),
    "extra members are added": (
        IssuedTokens(access_token="at-1", expires_in=60, scopes=("openid",), extra={"user_id": "ada@example.com"}),
        {
            "access_token": "at-1",
            "token_type": "Bearer",
            "expires_in": 60,
            "scope": "openid",
            "user_id": "ada@example.com",
        },
    ),
}


@pytest.mark.parametrize(("issued", "expected"), list(BODIES.values()), ids=list(BODIES))
def test_build_token_response_has_exactly_the_rfc6749_members(issued: IssuedTokens, expected: dict[str, Any]) -> None:
    assert build_token_response(issued) == expected


def test_token_responses_must_not_be_cached() -> None:
    assert NO_STORE_HEADERS == {"Cache-Control": "no-store", "Pragma": "no-cache"}
