"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from gatepass.protocol.errors import InvalidGrant, InvalidScope
from gatepass.protocol.rfc6749.refresh_token import RefreshTokenReused, check_refresh
from gatepass.protocol.values import RefreshRecord


def _at(now: datetime, overrides: dict[str, Any]) -> dict[str, Any]:
    """Turn timedelta overrides into datetimes relative to now."""
    return {name: now + value if isinstance(value, timedelta) else value for name, value in overrides.items()}


#: What app-1 may ask for now: everything its refresh tokens were granted, and more.
CLIENT_SCOPES = ("openid", "profile", "email", "roles", "all")

GRANTED: dict[str, tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]] = {
    "no scope requested: the original scopes": ({}, (), ("openid", "profile", "email")),
    "narrowing the scope": ({}, ("openid", "email"), ("openid", "email")),
    "the same scope in another order": ({}, ("email", "openid", "profile"), ("email", "openid", "profile")),
    "one microsecond before expiry": ({"expires_at": timedelta(microseconds=1)}, (), ("openid", "profile", "email")),
    "client-credentials family without a user": ({"user_id": None, "auth_time": None}, ("email",), ("email",)),
}


@pytest.mark.parametrize(("record_overrides", "requested", "expected"), list(GRANTED.values()), ids=list(GRANTED))
def test_refresh_returns_the_scopes_for_the_new_tokens(
    make_refresh: Callable[..., RefreshRecord],
    now: datetime,
    record_overrides: dict[str, Any],
    requested: tuple[str, ...],
    expected: tuple[str, ...],
) -> None:
    record = make_refresh(**_at(now, record_overrides))

    assert (
        check_refresh(record, client_id="app-1", requested_scopes=requested, client_scopes=CLIENT_SCOPES, now=now)
        == expected
    )


REFUSED: dict[str, tuple[dict[str, Any] | None, str, str]] = {
    "unknown token": (None, "app-1", "The refresh token is invalid"),
    "token of another client": ({}, "app-2", "The refresh token was issued to another client"),
    "revoked": ({"revoked_at": timedelta(minutes=-1)}, "app-1", "The refresh token has been revoked"),
    "revoked after rotation reports revocation": (
        {"revoked_at": timedelta(minutes=-1), "rotated_at": timedelta(minutes=-2)},
        "app-1",
        "The refresh token has been revoked",
    ),
    "expired exactly at expires_at": (
        {"expires_at": timedelta(0)},
        "app-1",
        "The refresh token has expired; ask the user to authorize again",
    ),
    "expired a day ago": (
        {"expires_at": timedelta(days=-1)},
        "app-1",
        "The refresh token has expired; ask the user to authorize again",
    ),
}


@pytest.mark.parametrize(("record_overrides", "client_id", "description"), list(REFUSED.values()), ids=list(REFUSED))
def test_refresh_refuses_with_invalid_grant(
    make_refresh: Callable[..., RefreshRecord],
    now: datetime,
    record_overrides: dict[str, Any] | None,
    client_id: str,
    description: str,
) -> None:
    record = None if record_overrides is None else make_refresh(**_at(now, record_overrides))

    with pytest.raises(InvalidGrant) as caught:
        check_refresh(record, client_id=client_id, requested_scopes=(), client_scopes=CLIENT_SCOPES, now=now)

    assert type(caught.value) is InvalidGrant
    assert caught.value.error == "invalid_grant"
    assert caught.value.description == description


@pytest.mark.parametrize(
    "expires_in",
    [timedelta(days=1), timedelta(days=-1)],
    ids=["rotated token still unexpired", "rotated token also expired"],
)
def test_rotated_refresh_token_presented_again_raises_reuse(
    make_refresh: Callable[..., RefreshRecord], now: datetime, expires_in: timedelta
) -> None:
    record = make_refresh(rotated_at=now - timedelta(minutes=3), expires_at=now + expires_in)

    with pytest.raises(RefreshTokenReused) as caught:
        check_refresh(record, client_id="app-1", requested_scopes=(), client_scopes=CLIENT_SCOPES, now=now)

    assert isinstance(caught.value, InvalidGrant)
    assert caught.value.error == "invalid_grant"
    assert caught.value.description == "The refresh token was already used; every token of this grant is now revoked"


WIDENED: dict[str, tuple[tuple[str, ...], str]] = {
    "a scope never granted": (("openid", "admin"), "admin"),
    "the first extra scope is named": (("write", "admin"), "write"),
}


@pytest.mark.parametrize(("requested", "extra"), list(WIDENED.values()), ids=list(WIDENED))
def test_refresh_cannot_widen_the_scope(
    make_refresh: Callable[..., RefreshRecord], now: datetime, requested: tuple[str, ...], extra: str
) -> None:
    with pytest.raises(InvalidScope) as caught:
        check_refresh(
            make_refresh(), client_id="app-1", requested_scopes=requested, client_scopes=CLIENT_SCOPES, now=now
        )

    assert caught.value.error == "invalid_scope"
    assert caught.value.description == (
        f"Scope '{extra}' was not granted originally; a refresh can only narrow the scope"
    )


NARROWED_BY_POLICY: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "a scope the client lost is dropped": ((), ("openid", "email"), ("openid", "email")),
    "the request is narrowed too": (("profile", "email"), ("openid", "email"), ("email",)),
    "the grant's order is kept": ((), ("email", "profile", "openid"), ("openid", "profile", "email")),
}


@pytest.mark.parametrize(
    ("requested", "client_scopes", "expected"), list(NARROWED_BY_POLICY.values()), ids=list(NARROWED_BY_POLICY)
)
def test_refresh_keeps_only_the_scopes_the_client_may_still_have(
    make_refresh: Callable[..., RefreshRecord],
    now: datetime,
    requested: tuple[str, ...],
    client_scopes: tuple[str, ...],
    expected: tuple[str, ...],
) -> None:
    scopes = check_refresh(
        make_refresh(), client_id="app-1", requested_scopes=requested, client_scopes=client_scopes, now=now
    )

    assert scopes == expected


@pytest.mark.parametrize(
    ("requested", "client_scopes"),
    [((), ("roles", "all")), (("email",), ("openid", "profile"))],
    ids=["no scope of the grant left", "no requested scope left"],
)
def test_refresh_with_no_scope_left_is_invalid_grant(
    make_refresh: Callable[..., RefreshRecord],
    now: datetime,
    requested: tuple[str, ...],
    client_scopes: tuple[str, ...],
) -> None:
    with pytest.raises(InvalidGrant) as caught:
        check_refresh(
            make_refresh(), client_id="app-1", requested_scopes=requested, client_scopes=client_scopes, now=now
        )

    assert type(caught.value) is InvalidGrant
    assert caught.value.description == (
        "No scope of this grant is still allowed for this client; ask the user to authorize again"
    )
