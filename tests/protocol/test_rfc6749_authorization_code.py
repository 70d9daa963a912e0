"""Redeeming an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6): client, single use, expiry, redirect_uri, PKCE."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from gatepass.protocol.errors import InvalidGrant
from gatepass.protocol.rfc6749.authorization_code import CodeReused, CodeVerifierFailed, check_code_redemption
from gatepass.protocol.values import CodeRecord

REDIRECT_URI = "https://app.example.com/callback"


@pytest.fixture
def redeem(now: datetime, rfc7636_appendix_b: dict[str, Any]) -> Callable[..., CodeRecord]:
    """Redeem as app-1 with the matching redirect_uri and the Appendix B verifier (make_code's challenge)."""

    def call(code: CodeRecord | None, **changes: Any) -> CodeRecord:
        request: dict[str, Any] = {
            "client_id": "app-1",
            "redirect_uri": REDIRECT_URI,
            "code_verifier": rfc7636_appendix_b["code_verifier"],
            **changes,
        }
        return check_code_redemption(code, now=now, **request)

    return call


def _at(now: datetime, overrides: dict[str, Any]) -> dict[str, Any]:
    """Turn timedelta overrides into datetimes relative to now."""
    return {name: now + value if isinstance(value, timedelta) else value for name, value in overrides.items()}


REDEEMED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "everything matches": ({}, {}),
    "one microsecond before expiry": ({"expires_at": timedelta(microseconds=1)}, {}),
    "redirect_uri omitted when it was not in the authorization request": (
        {"redirect_uri_was_sent": False},
        {"redirect_uri": None},
    ),
    "redirect_uri repeated although it was not required": ({"redirect_uri_was_sent": False}, {}),
    "no PKCE on either side": (
        {"code_challenge": None, "code_challenge_method": None},
        {"code_verifier": None},
    ),
    "plain PKCE": (
        {"code_challenge": "p" * 43, "code_challenge_method": "plain"},
        {"code_verifier": "p" * 43},
    ),
}


@pytest.mark.parametrize(("code_overrides", "request_changes"), list(REDEEMED.values()), ids=list(REDEEMED))
def test_code_redemption_returns_the_code_when_every_binding_holds(
    make_code: Callable[..., CodeRecord],
    redeem: Callable[..., CodeRecord],
    now: datetime,
    code_overrides: dict[str, Any],
    request_changes: dict[str, Any],
) -> None:
    code = make_code(**_at(now, code_overrides))

    assert redeem(code, **request_changes) is code


REFUSED: dict[str, tuple[dict[str, Any] | None, dict[str, Any], str]] = {
    "unknown code": (None, {}, "The authorization code is invalid or has expired"),
    "code of another client": ({}, {"client_id": "app-2"}, "The authorization code was issued to another client"),
    "expired exactly at expires_at": (
        {"expires_at": timedelta(0)},
        {},
        "The authorization code has expired; start the authorization again",
    ),
    "expired a minute ago": (
        {"expires_at": timedelta(minutes=-1)},
        {},
        "The authorization code has expired; start the authorization again",
    ),
    "redirect_uri missing although it was sent": (
        {},
        {"redirect_uri": None},
        "redirect_uri is required: it was sent in the authorization request",
    ),
    "redirect_uri differs": (
        {},
        {"redirect_uri": "https://app.example.com/callback/"},
        "redirect_uri differs from the one used in the authorization request",
    ),
    "loopback redirect_uri on another port": (
        {"redirect_uri": "http://127.0.0.1:49152/cb"},
        {"redirect_uri": "http://127.0.0.1:49153/cb"},
        "redirect_uri differs from the one used in the authorization request",
    ),
    "redirect_uri differs when it was not required": (
        {"redirect_uri_was_sent": False},
        {"redirect_uri": "https://evil.example/callback"},
        "redirect_uri differs from the one used in the authorization request",
    ),
    "code_verifier missing": (
        {},
        {"code_verifier": None},
        "code_verifier is required: this code was issued with a code_challenge",
    ),
    "code_verifier wrong": ({}, {"code_verifier": "w" * 43}, "code_verifier does not match the code_challenge"),
    "code_verifier without a challenge (PKCE downgrade)": (
        {"code_challenge": None, "code_challenge_method": None},
        {},
        "code_verifier was sent but the authorization request had no code_challenge",
    ),
}


@pytest.mark.parametrize(
    ("code_overrides", "request_changes", "description"), list(REFUSED.values()), ids=list(REFUSED)
)
def test_code_redemption_refuses_with_invalid_grant(
    make_code: Callable[..., CodeRecord],
    redeem: Callable[..., CodeRecord],
    now: datetime,
    code_overrides: dict[str, Any] | None,
    request_changes: dict[str, Any],
    description: str,
) -> None:
    code = None if code_overrides is None else make_code(**_at(now, code_overrides))

    with pytest.raises(InvalidGrant) as caught:
        redeem(code, **request_changes)

    # A failed PKCE check is its own type, so that the service burns the code.
    is_pkce = "code_verifier" in description
    assert type(caught.value) is (CodeVerifierFailed if is_pkce else InvalidGrant)
    assert caught.value.error == "invalid_grant"
    assert caught.value.description == description


def test_reused_code_raises_code_reused_so_the_service_revokes_its_tokens(
    make_code: Callable[..., CodeRecord], redeem: Callable[..., CodeRecord], now: datetime
) -> None:
    code = make_code(consumed_at=now - timedelta(seconds=5))

    with pytest.raises(CodeReused) as caught:
        redeem(code)

    assert isinstance(caught.value, InvalidGrant)
    assert caught.value.error == "invalid_grant"
    assert caught.value.description == "The authorization code was already used; tokens issued from it are revoked"


def test_reuse_is_reported_before_expiry(
    make_code: Callable[..., CodeRecord], redeem: Callable[..., CodeRecord], now: datetime
) -> None:
    code = make_code(consumed_at=now - timedelta(minutes=5), expires_at=now - timedelta(minutes=1))

    with pytest.raises(CodeReused):
        redeem(code)


def test_other_client_is_reported_before_reuse(
    make_code: Callable[..., CodeRecord], redeem: Callable[..., CodeRecord], now: datetime
) -> None:
    code = make_code(consumed_at=now - timedelta(seconds=5))

    with pytest.raises(InvalidGrant) as caught:
        redeem(code, client_id="app-2")

    assert type(caught.value) is InvalidGrant
    assert caught.value.description == "The authorization code was issued to another client"
