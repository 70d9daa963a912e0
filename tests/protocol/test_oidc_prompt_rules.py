"""prompt and max_age (OpenID Connect Core §3.1.2.1): when to ask the user to log in or consent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gatepass.protocol.errors import ConsentRequired, LoginRequired
from gatepass.protocol.oidc.prompt import Login, after_forced_login, consent_needed, login_step

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
NONE, LOGIN, CONSENT = frozenset({"none"}), frozenset({"login"}), frozenset({"consent"})


def test_without_a_session_the_user_logs_in_unless_prompt_none() -> None:
    assert login_step(frozenset(), None, None, NOW) is Login.ASK
    with pytest.raises(LoginRequired, match="not logged in"):
        login_step(NONE, None, None, NOW)


@pytest.mark.parametrize(
    ("prompt", "max_age", "age_seconds", "expected"),
    [
        (frozenset(), None, 10_000, Login.KEEP),
        (frozenset(), 60, 60, Login.KEEP),
        (frozenset(), 60, 61, Login.FORCE),
        (frozenset(), 0, 1, Login.FORCE),
        (LOGIN, None, 0, Login.FORCE),
        (frozenset({"login", "consent"}), 3600, 1, Login.FORCE),
    ],
)
def test_a_session_is_kept_unless_prompt_login_or_max_age_says_otherwise(
    prompt: frozenset[str], max_age: int | None, age_seconds: int, expected: Login
) -> None:
    assert login_step(prompt, max_age, NOW - timedelta(seconds=age_seconds), NOW) is expected


def test_prompt_none_refuses_what_would_need_the_user() -> None:
    with pytest.raises(LoginRequired, match="max_age"):
        login_step(NONE, 60, NOW - timedelta(seconds=61), NOW)
    with pytest.raises(LoginRequired, match="prompt=login"):
        login_step(frozenset({"none", "login"}), None, NOW, NOW)
    assert login_step(NONE, 60, NOW - timedelta(seconds=5), NOW) is Login.KEEP


@pytest.mark.parametrize(
    ("prompt", "skip", "remembers", "requested", "granted", "expected"),
    [
        (frozenset(), True, False, ("openid", "all"), (), False),
        (CONSENT, True, True, ("openid",), (), False),
        (frozenset(), False, True, ("openid",), ("openid", "email"), False),
        (frozenset(), False, True, ("openid", "all"), ("openid",), True),
        (frozenset(), False, False, ("openid",), ("openid",), True),
        (CONSENT, False, True, ("openid",), ("openid",), True),
    ],
)
def test_consent_is_asked_unless_trusted_or_remembered_and_covering(
    prompt: frozenset[str],
    skip: bool,
    remembers: bool,
    requested: tuple[str, ...],
    granted: tuple[str, ...],
    expected: bool,
) -> None:
    assert (
        consent_needed(
            prompt, skip_authorization=skip, remembers_consent=remembers, requested=requested, granted_before=granted
        )
        is expected
    )


def test_prompt_none_refuses_a_consent_the_user_has_not_given() -> None:
    with pytest.raises(ConsentRequired):
        consent_needed(NONE, skip_authorization=False, remembers_consent=True, requested=("all",), granted_before=())
    assert not consent_needed(
        NONE, skip_authorization=False, remembers_consent=True, requested=("all",), granted_before=("all",)
    )


def test_after_a_forced_login_the_request_no_longer_forces_one() -> None:
    params = {"client_id": "app", "prompt": "login consent", "max_age": "0", "state": "s"}
    assert after_forced_login(params) == {"client_id": "app", "prompt": "consent", "state": "s"}
    assert after_forced_login({"prompt": "login"}) == {}
    assert params["prompt"] == "login consent", "the request it came from is left as it was"
