"""Logout tokens' claims, who is told what, and which logout URIs may be registered (Back-Channel Logout 1.0)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gatepass.protocol.errors import InvalidClientMetadata
from gatepass.protocol.oidc.backchannel_logout import (
    BACKCHANNEL_LOGOUT_EVENT,
    MAX_RETRY_DELAY_SECONDS,
    build_logout_claims,
    build_session_id,
    check_backchannel_logout_uri,
    retry_delay_seconds,
    sessions_to_name,
    with_lifetime,
)

KEY = b"k" * 32


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example.com/logout",
        "https://app.example.com:8443/oidc/logout?tenant=a",
        "http://localhost:8000/logout",
        "http://127.0.0.1:9999/logout",
        "http://[::1]/logout",
    ],
)
def test_https_and_loopback_http_logout_uris_are_accepted(uri: str) -> None:
    check_backchannel_logout_uri(uri)


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("http://app.example.com/logout", "must be an absolute https URL (http only for localhost)"),
        ("https://app.example.com/logout#x", "must not have a fragment"),
        ("https://app.example.com/logout#", "must not have a fragment"),
        ("/logout", "must be an absolute https URL"),
        ("https:///logout", "must be an absolute https URL"),
        ("javascript:alert(1)", "must be an absolute https URL"),
        ("https://app.example.com/a b", "without spaces"),
        ("https://app.example.com/" + "a" * 2048, "at most 2048 characters"),
    ],
    ids=["http-elsewhere", "fragment", "empty-fragment", "relative", "no-host", "javascript", "space", "long"],
)
def test_logout_uris_a_token_must_not_go_to_are_refused(uri: str, says: str) -> None:
    with pytest.raises(InvalidClientMetadata) as refused:
        check_backchannel_logout_uri(uri)
    assert says in refused.value.description


def test_a_logout_token_names_the_event_and_never_a_nonce() -> None:
    claims = build_logout_claims(issuer="https://id.example", client_id="app", subject="u1", sid="s1", jti="j1")
    assert claims == {
        "iss": "https://id.example",
        "aud": "app",
        "jti": "j1",
        "sub": "u1",
        "sid": "s1",
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    user_wide = build_logout_claims(issuer="https://id.example", client_id="app", subject="u1", sid=None, jti="j2")
    assert "sid" not in user_wide
    timed = with_lifetime(claims, datetime(2026, 1, 1, tzinfo=UTC), 120)
    assert timed["exp"] - timed["iat"] == 120
    assert "nonce" not in timed


def test_a_session_id_is_stable_per_session_and_differs_between_sessions() -> None:
    assert build_session_id(KEY, 7) == build_session_id(KEY, 7)
    assert build_session_id(KEY, 7) != build_session_id(KEY, 8)
    assert build_session_id(KEY, 7) != build_session_id(b"o" * 32, 7)


@pytest.mark.parametrize(
    ("is_session_required", "is_every_session", "expected"),
    [
        (False, False, ("s1",)),
        (True, False, ("s1",)),
        (False, True, (None,)),
        (True, True, ("s1", "s2")),
    ],
    ids=["one-session", "one-session-sid-required", "everywhere", "everywhere-sid-required"],
)
def test_who_is_told_which_session(
    is_session_required: bool, is_every_session: bool, expected: tuple[str | None, ...]
) -> None:
    sids = ("s1",) if not is_every_session else ("s1", "s2")
    named = sessions_to_name(sids, is_session_required=is_session_required, is_every_session=is_every_session)
    assert named == expected


def test_retries_wait_longer_each_time_up_to_an_hour() -> None:
    delays = [retry_delay_seconds(attempts, 30) for attempts in range(1, 12)]
    assert delays[:4] == [30, 60, 120, 240]
    assert delays == sorted(delays)
    assert delays[-1] == MAX_RETRY_DELAY_SECONDS
