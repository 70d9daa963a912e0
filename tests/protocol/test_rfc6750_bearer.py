"""Bearer tokens (RFC 6750): parsing the Authorization header (§2.1), building WWW-Authenticate (§3)."""

from __future__ import annotations

import pytest

from gatepass.protocol.errors import InvalidRequest
from gatepass.protocol.rfc6750_bearer import build_bearer_challenge, parse_bearer

PARSED: dict[str, tuple[str | None, str | None]] = {
    "no header": (None, None),
    "empty header": ("", None),
    "Basic is not a bearer token": ("Basic YXBwLTE6czNjcmV0", None),
    "unknown scheme": ("DPoP abc", None),
    "Bearer token": ("Bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"),
    "scheme is case-insensitive": ("bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"),
    "scheme in capitals": ("BEARER abc", "abc"),
    "every b64token character": ("Bearer AZaz09-._~+/", "AZaz09-._~+/"),
    "trailing padding": ("Bearer abc==", "abc=="),
    "extra spaces around the token": ("Bearer   abc  ", "abc"),
}


@pytest.mark.parametrize(("authorization", "expected"), list(PARSED.values()), ids=list(PARSED))
def test_parse_bearer_returns_the_token_or_none_for_other_schemes(
    authorization: str | None, expected: str | None
) -> None:
    assert parse_bearer(authorization) == expected


MALFORMED: dict[str, str] = {
    "scheme without token": "Bearer",
    "scheme and spaces only": "Bearer    ",
    "two tokens": "Bearer abc def",
    "padding in the middle": "Bearer ab=c",
    "padding only": "Bearer ==",
    "comma": "Bearer abc,def",
    "quoted token": 'Bearer "abc"',
    "non-ASCII": "Bearer jéton",
}


@pytest.mark.parametrize("authorization", list(MALFORMED.values()), ids=list(MALFORMED))
def test_parse_bearer_rejects_a_malformed_bearer_header(authorization: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_bearer(authorization)

    assert caught.value.error == "invalid_request"
    assert caught.value.status_code == 400
    assert caught.value.description == "The Authorization header must be 'Bearer <token>'"


CHALLENGES: dict[str, tuple[str, dict[str, str | None], str]] = {
    "realm only, for a request without a token": ("gatepass", {}, 'Bearer realm="gatepass"'),
    "invalid_token with description": (
        "gatepass",
        {"error": "invalid_token", "description": "The access token expired"},
        'Bearer realm="gatepass", error="invalid_token", error_description="The access token expired"',
    ),
    "insufficient_scope with the scope needed": (
        "gatepass",
        {"error": "insufficient_scope", "description": "Needs write", "scope": "documents:read documents:write"},
        'Bearer realm="gatepass", error="insufficient_scope", error_description="Needs write", '
        'scope="documents:read documents:write"',
    ),
    "resource metadata (RFC 9728)": (
        "gatepass",
        {"error": "invalid_token", "resource_metadata": "https://api.example.com/.well-known/oauth-protected-resource"},
        'Bearer realm="gatepass", error="invalid_token", '
        'resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"',
    ),
    "double quote and backslash are escaped": (
        'the "main" realm\\',
        {"description": 'say "hi" \\ bye'},
        'Bearer realm="the \\"main\\" realm\\\\", error_description="say \\"hi\\" \\\\ bye"',
    ),
    "empty values are left out": (
        "gatepass",
        {"error": "", "description": "", "scope": "", "resource_metadata": ""},
        'Bearer realm="gatepass"',
    ),
}


@pytest.mark.parametrize(("realm", "attributes", "expected"), list(CHALLENGES.values()), ids=list(CHALLENGES))
def test_build_bearer_challenge_quotes_every_attribute(
    realm: str, attributes: dict[str, str | None], expected: str
) -> None:
    challenge = build_bearer_challenge(
        realm,
        error=attributes.get("error"),
        description=attributes.get("description"),
        scope=attributes.get("scope"),
        resource_metadata=attributes.get("resource_metadata"),
    )

    assert challenge == expected
