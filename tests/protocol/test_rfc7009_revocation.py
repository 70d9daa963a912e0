"""Revocation and introspection request parameters (RFC 7009 §2.1, RFC 7662 §2.1)."""

from __future__ import annotations

import pytest

from gatepass.protocol.errors import InvalidRequest, UnsupportedTokenType
from gatepass.protocol.rfc7009_revocation import TOKEN_TYPE_HINTS, TokenLookup, parse_token_lookup

LOOKUPS: dict[str, tuple[dict[str, str], bool, TokenLookup]] = {
    "token without hint": ({"token": "abc"}, True, TokenLookup("abc", None)),
    "access_token hint": (
        {"token": "abc", "token_type_hint": "access_token"},
        True,
        TokenLookup("abc", "access_token"),
    ),
    "refresh_token hint": (
        {"token": "abc", "token_type_hint": "refresh_token"},
        True,
        TokenLookup("abc", "refresh_token"),
    ),
    "introspection ignores an unknown hint": (
        {"token": "abc", "token_type_hint": "id_token"},
        False,
        TokenLookup("abc", None),
    ),
    "introspection keeps a known hint": (
        {"token": "abc", "token_type_hint": "refresh_token"},
        False,
        TokenLookup("abc", "refresh_token"),
    ),
}


@pytest.mark.parametrize(("params", "is_hint_strict", "expected"), list(LOOKUPS.values()), ids=list(LOOKUPS))
def test_parse_token_lookup_returns_token_and_hint(
    params: dict[str, str], is_hint_strict: bool, expected: TokenLookup
) -> None:
    assert parse_token_lookup(params, is_hint_strict=is_hint_strict) == expected


def test_revocation_rejects_an_unknown_hint_as_unsupported_token_type() -> None:
    with pytest.raises(UnsupportedTokenType) as caught:
        parse_token_lookup({"token": "abc", "token_type_hint": "id_token"})

    assert caught.value.error == "unsupported_token_type"
    assert caught.value.description == (
        "token_type_hint 'id_token' is not supported; use access_token or refresh_token"
    )


@pytest.mark.parametrize("is_hint_strict", [True, False], ids=["revocation", "introspection"])
def test_missing_token_is_invalid_request(is_hint_strict: bool) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_token_lookup({"token_type_hint": "access_token"}, is_hint_strict=is_hint_strict)

    assert caught.value.description == "Missing required parameter 'token'"


def test_known_hints_are_access_and_refresh_token() -> None:
    assert TOKEN_TYPE_HINTS == ("access_token", "refresh_token")
