"""Where the authorization response goes: the fragment for tokens, the query for a code, unless response_mode says."""

from __future__ import annotations

import pytest

from gatepass.protocol.oauth_response_modes import returns_tokens, uses_fragment


@pytest.mark.parametrize(
    ("response_type", "response_mode", "expected"),
    [
        ("code", None, False),
        ("token", None, True),
        ("id_token", None, True),
        ("id_token token", None, True),
        ("code id_token", None, True),
        ("token id_token", None, True),
        ("code", "fragment", True),
        ("code", "query", False),
        ("token", "fragment", True),
        # An unknown or missing response_type errs in the query, where a client that sent it looks.
        ("", None, False),
        ("bogus", None, False),
    ],
)
def test_the_response_goes_where_the_response_type_and_mode_say(
    response_type: str, response_mode: str | None, expected: bool
) -> None:
    assert uses_fragment(response_type, response_mode) is expected


def test_only_token_bearing_response_types_return_tokens() -> None:
    assert [returns_tokens(kind) for kind in ("code", "token", "id_token", "code token", "none", "")] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]
