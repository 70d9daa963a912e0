"""PKCE (RFC 7636): the Appendix B vector, challenge rules at authorization, verifier rules at the token endpoint."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from gatepass.protocol.errors import InvalidGrant, InvalidRequest, OAuthError
from gatepass.protocol.rfc7636_pkce import METHODS, check_code_challenge, check_code_verifier, s256_challenge

VERIFIER_43 = "a" * 43
VERIFIER_128 = "Az09-._~" * 16
OTHER_VERIFIER = "b" * 43
CHALLENGE_43 = s256_challenge("c" * 43)
LENGTH_MESSAGE = "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]"
VERIFIER_LENGTH_MESSAGE = "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]"


def test_s256_challenge_matches_rfc7636_appendix_b(rfc7636_appendix_b: dict[str, Any]) -> None:
    assert s256_challenge(rfc7636_appendix_b["code_verifier"]) == rfc7636_appendix_b["code_challenge"]


def test_appendix_b_fixture_octets_are_consistent_with_the_verifier(rfc7636_appendix_b: dict[str, Any]) -> None:
    # Guards the fixture itself: the SHA-256 octets listed in Appendix B are those of the verifier.
    digest = hashlib.sha256(rfc7636_appendix_b["code_verifier"].encode("ascii")).digest()

    assert list(digest) == rfc7636_appendix_b["sha256_octets"]


def test_appendix_b_verifier_passes_against_its_s256_challenge(rfc7636_appendix_b: dict[str, Any]) -> None:
    challenge, method = check_code_challenge(
        rfc7636_appendix_b["code_challenge"],
        rfc7636_appendix_b["code_challenge_method"],
        is_required=True,
        allow_plain=False,
    )

    assert (challenge, method) == (rfc7636_appendix_b["code_challenge"], "S256")
    check_code_verifier(rfc7636_appendix_b["code_verifier"], challenge, method)  # check_* raises on failure


def test_supported_methods_are_s256_and_plain_only() -> None:
    assert METHODS == ("S256", "plain")


ACCEPTED_CHALLENGES: dict[str, tuple[str | None, str | None, bool, bool, tuple[str | None, str | None]]] = {
    "S256 challenge is kept": (CHALLENGE_43, "S256", True, False, (CHALLENGE_43, "S256")),
    "128-character challenge": (VERIFIER_128, "S256", True, False, (VERIFIER_128, "S256")),
    "nothing sent and not required": (None, None, False, False, (None, None)),
    "plain allowed for the client": (VERIFIER_43, "plain", True, True, (VERIFIER_43, "plain")),
    "absent method defaults to plain when plain is allowed": (VERIFIER_43, None, True, True, (VERIFIER_43, "plain")),
    "challenge sent although not required is still kept": (CHALLENGE_43, "S256", False, False, (CHALLENGE_43, "S256")),
}


@pytest.mark.parametrize(
    ("challenge", "method", "is_required", "allow_plain", "expected"),
    list(ACCEPTED_CHALLENGES.values()),
    ids=list(ACCEPTED_CHALLENGES),
)
def test_check_code_challenge_returns_the_pair_to_store(
    challenge: str | None,
    method: str | None,
    is_required: bool,
    allow_plain: bool,
    expected: tuple[str | None, str | None],
) -> None:
    assert check_code_challenge(challenge, method, is_required=is_required, allow_plain=allow_plain) == expected


REJECTED_CHALLENGES: dict[str, tuple[str | None, str | None, bool, bool, str]] = {
    "missing when required": (
        None,
        None,
        True,
        False,
        "code_challenge is required: send code_challenge and code_challenge_method=S256 (RFC 7636)",
    ),
    "method without challenge": (None, "S256", False, False, "code_challenge_method was sent without code_challenge"),
    "method without challenge when required": (
        None,
        "S256",
        True,
        False,
        "code_challenge_method was sent without code_challenge",
    ),
    "plain method for a client that does not allow it": (
        VERIFIER_43,
        "plain",
        True,
        False,
        "code_challenge_method=plain is not allowed for this client; use S256",
    ),
    "absent method means plain, which the client does not allow": (
        CHALLENGE_43,
        None,
        True,
        False,
        "code_challenge_method=plain is not allowed for this client; use S256",
    ),
    "unknown method": (CHALLENGE_43, "S512", True, True, "code_challenge_method 'S512' is not supported; use S256"),
    "method names are case-sensitive": (
        CHALLENGE_43,
        "s256",
        True,
        True,
        "code_challenge_method 's256' is not supported; use S256",
    ),
    "42 characters is too short": (CHALLENGE_43[:42], "S256", True, False, LENGTH_MESSAGE),
    "129 characters is too long": (VERIFIER_128 + "a", "S256", True, False, LENGTH_MESSAGE),
    "standard base64 plus sign": (CHALLENGE_43[:42] + "+", "S256", True, False, LENGTH_MESSAGE),
    "base64 padding": (CHALLENGE_43 + "=", "S256", True, False, LENGTH_MESSAGE),
    "space inside": (CHALLENGE_43[:20] + " " + CHALLENGE_43[21:], "S256", True, False, LENGTH_MESSAGE),
    "non-ASCII letter": ("é" * 43, "S256", True, False, LENGTH_MESSAGE),
}


@pytest.mark.parametrize(
    ("challenge", "method", "is_required", "allow_plain", "description"),
    list(REJECTED_CHALLENGES.values()),
    ids=list(REJECTED_CHALLENGES),
)
def test_check_code_challenge_rejects_as_invalid_request(
    challenge: str | None, method: str | None, is_required: bool, allow_plain: bool, description: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_code_challenge(challenge, method, is_required=is_required, allow_plain=allow_plain)

    assert caught.value.error == "invalid_request"
    assert caught.value.description == description


def test_plain_method_rejected_unless_client_allows_it() -> None:
    with pytest.raises(InvalidRequest):
        check_code_challenge(VERIFIER_43, "plain", is_required=True, allow_plain=False)

    assert check_code_challenge(VERIFIER_43, "plain", is_required=True, allow_plain=True) == (VERIFIER_43, "plain")


ACCEPTED_VERIFIERS: dict[str, tuple[str | None, str | None, str | None]] = {
    "no PKCE on either side": (None, None, None),
    "plain verifier equal to the challenge": (VERIFIER_43, VERIFIER_43, "plain"),
    "S256 of a 128-character verifier": (VERIFIER_128, s256_challenge(VERIFIER_128), "S256"),
}


@pytest.mark.parametrize(
    ("verifier", "challenge", "method"), list(ACCEPTED_VERIFIERS.values()), ids=list(ACCEPTED_VERIFIERS)
)
def test_check_code_verifier_accepts_a_matching_verifier(
    verifier: str | None, challenge: str | None, method: str | None
) -> None:
    check_code_verifier(verifier, challenge, method)  # check_* raises on failure


REJECTED_VERIFIERS: dict[str, tuple[str | None, str | None, str | None, str]] = {
    "verifier without challenge is a PKCE downgrade": (
        VERIFIER_43,
        None,
        None,
        "code_verifier was sent but the authorization request had no code_challenge",
    ),
    "missing verifier for a code issued with a challenge": (
        None,
        CHALLENGE_43,
        "S256",
        "code_verifier is required: this code was issued with a code_challenge",
    ),
    "wrong S256 verifier": (
        OTHER_VERIFIER,
        s256_challenge(VERIFIER_43),
        "S256",
        "code_verifier does not match the code_challenge",
    ),
    "S256 challenge replayed as the verifier": (
        CHALLENGE_43,
        CHALLENGE_43,
        "S256",
        "code_verifier does not match the code_challenge",
    ),
    "wrong plain verifier": (OTHER_VERIFIER, VERIFIER_43, "plain", "code_verifier does not match the code_challenge"),
    "42-character verifier": (VERIFIER_43[:42], CHALLENGE_43, "S256", VERIFIER_LENGTH_MESSAGE),
    "129-character verifier": (VERIFIER_128 + "a", CHALLENGE_43, "S256", VERIFIER_LENGTH_MESSAGE),
    "verifier with slash": ("/" * 43, CHALLENGE_43, "S256", VERIFIER_LENGTH_MESSAGE),
    "verifier with padding": (VERIFIER_43 + "=", CHALLENGE_43, "S256", VERIFIER_LENGTH_MESSAGE),
}


@pytest.mark.parametrize(
    ("verifier", "challenge", "method", "description"),
    list(REJECTED_VERIFIERS.values()),
    ids=list(REJECTED_VERIFIERS),
)
def test_check_code_verifier_rejects_as_invalid_grant(
    verifier: str | None, challenge: str | None, method: str | None, description: str
) -> None:
    with pytest.raises(InvalidGrant) as caught:
        check_code_verifier(verifier, challenge, method)

    # RFC 7636 §4.6: a failed verification is invalid_grant, never invalid_request.
    assert type(caught.value) is InvalidGrant
    assert caught.value.error == "invalid_grant"
    assert caught.value.description == description


def test_every_pkce_failure_is_an_oauth_error_that_may_be_redirected() -> None:
    with pytest.raises(OAuthError) as caught:
        check_code_challenge(None, None, is_required=True, allow_plain=False)

    assert caught.value.redirectable is True
