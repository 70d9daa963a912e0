"""Issuer identification on authorization responses (RFC 9207 §2)."""

from __future__ import annotations

import pytest

from gatepass.protocol.rfc9207_issuer import with_issuer

CASES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "success response": (
        {"code": "abc", "state": "xyz"},
        {"code": "abc", "state": "xyz", "iss": "https://id.example.com"},
    ),
    "error response": (
        {"error": "access_denied", "state": "xyz"},
        {"error": "access_denied", "state": "xyz", "iss": "https://id.example.com"},
    ),
    "an iss already present is replaced": ({"iss": "https://evil.example"}, {"iss": "https://id.example.com"}),
}


@pytest.mark.parametrize(("params", "expected"), list(CASES.values()), ids=list(CASES))
def test_with_issuer_adds_iss_without_changing_the_input(params: dict[str, str], expected: dict[str, str]) -> None:
    before = dict(params)

    assert with_issuer(params, "https://id.example.com") == expected
    assert params == before
