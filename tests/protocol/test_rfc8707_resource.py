"""Resource indicators (RFC 8707): which resource a token is for, and that the token endpoint never widens it."""

from __future__ import annotations

import pytest

from gatepass.protocol.errors import InvalidTarget
from gatepass.protocol.rfc8707_resource import check_resource, check_token_resource

KNOWN = ("https://api.example/", "https://mcp.example/tools")


def test_no_resource_is_no_binding() -> None:
    assert check_resource(None, KNOWN) is None


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("https://api.example/", "https://api.example"),
        ("https://api.example", "https://api.example"),
        ("https://mcp.example/tools/", "https://mcp.example/tools"),
    ],
)
def test_a_known_resource_is_bound_without_its_trailing_slash(resource: str, expected: str) -> None:
    assert check_resource(resource, KNOWN) == expected


@pytest.mark.parametrize(
    ("resource", "says"),
    [
        ("api.example", "absolute URI"),
        ("/relative", "absolute URI"),
        ("https://api.example/#part", "without a fragment"),
        ("https://api.example/#", "without a fragment"),
        ("https://other.example/", "not a resource this server issues tokens for"),
    ],
)
def test_a_resource_that_is_not_absolute_has_a_fragment_or_is_unknown_is_invalid_target(
    resource: str, says: str
) -> None:
    with pytest.raises(InvalidTarget, match=says):
        check_resource(resource, KNOWN)


def test_the_token_endpoint_may_repeat_the_resource_but_not_change_it() -> None:
    assert check_token_resource(None, "https://api.example") == "https://api.example"
    assert check_token_resource("https://api.example/", "https://api.example") == "https://api.example"
    assert check_token_resource("https://api.example", None) == "https://api.example"
    with pytest.raises(InvalidTarget, match="differs"):
        check_token_resource("https://mcp.example/tools", "https://api.example")
