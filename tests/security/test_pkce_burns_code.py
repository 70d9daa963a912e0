"""A failed PKCE check (RFC 7636 §4.6: invalid_grant) also burns the authorization code.

Whoever holds a stolen code gets one guess at its code_verifier: after a wrong, missing or malformed
verifier, the code cannot be redeemed any more, not even with the right verifier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from support.backchannel import Backchannel, assert_oauth_error
from support.browser import HttpBrowser, code_request
from support.pkce import Pkce
from support.provision import provision
from support.server import LiveServer

CASES: dict[str, tuple[str, Callable[[Pkce], Pkce | None]]] = {
    "wrong": ("code_verifier does not match the code_challenge", lambda pkce: Pkce.new()),
    "missing": ("code_verifier is required: this code was issued with a code_challenge", lambda pkce: None),
    "malformed": (
        "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
        lambda pkce: Pkce("short", pkce.challenge),
    ),
}


def _parties(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    users, clients = provision(
        server, {"pia": {"first_name": "Pia", "last_name": "Pkce"}}, lambda _: {"app": ("--name", "PKCE App")}
    )
    return users["pia"], clients["app"]


@pytest.mark.parametrize("case", list(CASES))
async def test_a_failed_code_verifier_burns_the_code(server: LiveServer, api: Backchannel, case: str) -> None:
    user, app = _parties(server)
    pkce = Pkce.new()
    async with HttpBrowser(server, user) as browser:
        code = (await browser.authorize(code_request(app, pkce))).code
    description, attempt = CASES[case]

    failed = await api.redeem(app, code, attempt(pkce))
    assert_oauth_error(failed, 400, "invalid_grant", description)
    retried = await api.redeem(app, code, pkce)
    assert_oauth_error(
        retried, 400, "invalid_grant", "The authorization code was already used; tokens issued from it are revoked"
    )
