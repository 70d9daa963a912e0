"""Request parameters: one value each, empty means absent, scope syntax (RFC 6749 §3.1, §3.3)."""

from __future__ import annotations

import pytest

from gatepass.protocol.errors import InvalidRequest, InvalidScope
from gatepass.protocol.params import MAX_PARAM_LENGTH, format_scope, parse_params, parse_scope, require

ACCEPTED_PAIRS: dict[str, tuple[list[tuple[str, str]], dict[str, str]]] = {
    "no pairs": ([], {}),
    "distinct names kept": (
        [("response_type", "code"), ("client_id", "app-1")],
        {"response_type": "code", "client_id": "app-1"},
    ),
    "empty value treated as absent": ([("client_id", "app-1"), ("state", "")], {"client_id": "app-1"}),
    "all empty values": ([("scope", ""), ("state", "")], {}),
    "white space is a value, not empty": ([("state", " ")], {"state": " "}),
    "value at the length limit": ([("state", "x" * MAX_PARAM_LENGTH)], {"state": "x" * MAX_PARAM_LENGTH}),
    "names are case-sensitive": ([("state", "a"), ("State", "b")], {"state": "a", "State": "b"}),
}


@pytest.mark.parametrize(("pairs", "expected"), list(ACCEPTED_PAIRS.values()), ids=list(ACCEPTED_PAIRS))
def test_parse_params_keeps_single_non_empty_values(pairs: list[tuple[str, str]], expected: dict[str, str]) -> None:
    assert parse_params(pairs) == expected


REJECTED_PAIRS: dict[str, tuple[list[tuple[str, str]], str]] = {
    "repeated name": (
        [("scope", "openid"), ("scope", "email")],
        "Parameter 'scope' was sent more than once; send it once",
    ),
    "repeated name with identical values": (
        [("code", "abc"), ("code", "abc")],
        "Parameter 'code' was sent more than once; send it once",
    ),
    "repeated name where the first is empty": (
        [("redirect_uri", ""), ("redirect_uri", "https://evil.example/cb")],
        "Parameter 'redirect_uri' was sent more than once; send it once",
    ),
    "repeated name where the second is empty": (
        [("state", "xyz"), ("state", "")],
        "Parameter 'state' was sent more than once; send it once",
    ),
    "value over the length limit": (
        [("state", "x" * (MAX_PARAM_LENGTH + 1))],
        f"Parameter 'state' is longer than {MAX_PARAM_LENGTH} characters",
    ),
}


@pytest.mark.parametrize(("pairs", "description"), list(REJECTED_PAIRS.values()), ids=list(REJECTED_PAIRS))
def test_parse_params_rejects_repeated_or_oversized_parameters(pairs: list[tuple[str, str]], description: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_params(pairs)

    assert caught.value.error == "invalid_request"
    assert caught.value.description == description


def test_max_param_length_is_4096() -> None:
    assert MAX_PARAM_LENGTH == 4096


def test_require_returns_the_value_when_present() -> None:
    assert require({"grant_type": "authorization_code"}, "grant_type") == "authorization_code"


@pytest.mark.parametrize(
    "pairs",
    [[], [("code", "")]],
    ids=["never sent", "sent empty"],
)
def test_require_treats_an_empty_parameter_as_missing(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        require(parse_params(pairs), "code")

    assert caught.value.description == "Missing required parameter 'code'"


ACCEPTED_SCOPES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "absent": (None, ()),
    "empty string": ("", ()),
    "only spaces": ("   ", ()),
    "single token": ("openid", ("openid",)),
    "order is kept": ("profile openid email", ("profile", "openid", "email")),
    "repeats dropped, first position kept": ("openid email openid", ("openid", "email")),
    "extra spaces ignored": ("  openid   email ", ("openid", "email")),
    "edge characters of the scope-token ABNF": ("! # [ ] ~ a:b/c", ("!", "#", "[", "]", "~", "a:b/c")),
    "case-sensitive tokens are distinct": ("Read read", ("Read", "read")),
}


@pytest.mark.parametrize(("text", "expected"), list(ACCEPTED_SCOPES.values()), ids=list(ACCEPTED_SCOPES))
def test_parse_scope_splits_space_delimited_tokens(text: str | None, expected: tuple[str, ...]) -> None:
    assert parse_scope(text) == expected


REJECTED_SCOPES: dict[str, tuple[str, str]] = {
    "double quote": ('openid "email"', "Scope ''email'' has characters that RFC 6749 section 3.3 does not allow"),
    "backslash": ("read\\write", "Scope 'read'write' has characters that RFC 6749 section 3.3 does not allow"),
    "tab is not a delimiter": (
        "openid\temail",
        "Scope 'openid'email' has characters that RFC 6749 section 3.3 does not allow",
    ),
    "newline": ("openid\nemail", "Scope 'openid'email' has characters that RFC 6749 section 3.3 does not allow"),
    "non-ASCII": ("café", "Scope 'caf'' has characters that RFC 6749 section 3.3 does not allow"),
    "DEL": ("a\x7f", "Scope 'a'' has characters that RFC 6749 section 3.3 does not allow"),
    "first bad token is reported": (
        'openid ba"d wo\\rse',
        "Scope 'ba'd' has characters that RFC 6749 section 3.3 does not allow",
    ),
}


@pytest.mark.parametrize(("text", "description"), list(REJECTED_SCOPES.values()), ids=list(REJECTED_SCOPES))
def test_parse_scope_rejects_characters_outside_the_scope_token_abnf(text: str, description: str) -> None:
    with pytest.raises(InvalidScope) as caught:
        parse_scope(text)

    assert caught.value.error == "invalid_scope"
    assert caught.value.description == description


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [((), ""), (("openid",), "openid"), (("openid", "profile", "email"), "openid profile email")],
    ids=["none", "one", "several in order"],
)
def test_format_scope_joins_with_single_spaces(scopes: tuple[str, ...], expected: str) -> None:
    assert format_scope(scopes) == expected
    assert parse_scope(format_scope(scopes)) == scopes
