"""When the user must log in or consent again: OpenID Connect Core §3.1.2.1 (prompt, max_age) and §3.1.2.4.

The authorization endpoint asks these questions in order; each answer is a plain value, and a
request with ``prompt=none`` that would need the user gets the error the specification names
instead (login_required, consent_required), which the caller sends back to the client.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from enum import Enum

from gatepass.protocol.errors import ConsentRequired, LoginRequired


class Login(Enum):
    #: The session will do.
    KEEP = "keep"
    #: Nobody is logged in: the login page.
    ASK = "ask"
    #: Someone is, but prompt=login or max_age asks for a fresh login.
    FORCE = "force"


def login_step(prompt: frozenset[str], max_age: int | None, auth_time: datetime | None, now: datetime) -> Login:
    """Whether the user must log in; ``auth_time`` None: no session. Raises LoginRequired for prompt=none."""
    if auth_time is None:
        if "none" in prompt:
            raise LoginRequired("The user is not logged in")
        return Login.ASK
    is_stale = max_age is not None and (now - auth_time).total_seconds() > max_age
    if "login" in prompt or is_stale:
        if "none" in prompt:
            raise LoginRequired("The login is older than max_age" if is_stale else "prompt=login needs the user")
        return Login.FORCE
    return Login.KEEP


def consent_needed(
    prompt: frozenset[str],
    *,
    skip_authorization: bool,
    remembers_consent: bool,
    requested: Collection[str],
    granted_before: Collection[str],
) -> bool:
    """Whether the consent page must be shown. A trusted client (skip_authorization) never asks; otherwise
    consent is asked again unless it is remembered ("auto" mode) and covers every scope requested, or
    prompt=consent insists. Raises ConsentRequired for prompt=none."""
    if skip_authorization:
        return False
    is_covered = remembers_consent and set(requested) <= set(granted_before)
    if "consent" in prompt or not is_covered:
        if "none" in prompt:
            raise ConsentRequired("The user has not yet allowed this app")
        return True
    return False


def after_forced_login(params: dict[str, str]) -> dict[str, str]:
    """The request to come back to after a forced login: without prompt=login and max_age, which the
    login just satisfied (asking again would loop)."""
    again = dict(params)
    again.pop("max_age", None)
    prompt = " ".join(value for value in again.pop("prompt", "").split(" ") if value and value != "login")
    if prompt:
        again["prompt"] = prompt
    return again
