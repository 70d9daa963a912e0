"""Native apps (RFC 8252): loopback redirects on any port (§7.3) and private-use URI schemes (§7.1)."""

from __future__ import annotations

import pytest

from support.backchannel import Backchannel, assert_oauth_error
from support.browser import HttpBrowser, assert_error_page, code_request, is_client_redirect, logged_in
from support.pkce import Pkce
from support.provision import World


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:51004/callback",
        "http://127.0.0.1/callback",
        "http://[::1]:49152/callback",
        "http://[::1]/callback",
        "com.example.app:/callback",
    ],
    ids=["ipv4-any-port", "ipv4-registered", "ipv6-any-port", "ipv6-registered", "private-use-scheme"],
)
async def test_native_redirect_uri_receives_the_code(
    sqlite_world: World, sqlite_api: Backchannel, redirect_uri: str
) -> None:
    native, pkce = sqlite_world.client("native"), Pkce.new()
    request = code_request(native, pkce, redirect_uri=redirect_uri)
    browser = await logged_in(sqlite_world.server, sqlite_world.user("alice"))
    outcome = await browser.authorize(request)
    assert is_client_redirect(outcome.location, redirect_uri), outcome.location
    assert outcome.location.startswith(redirect_uri + "?")
    assert (outcome.params["state"], outcome.params["iss"]) == (request["state"], sqlite_world.server.url)
    tokens = await sqlite_api.tokens(native, outcome.code, pkce, redirect_uri=redirect_uri)
    assert tokens["token_type"] == "Bearer"


async def test_token_request_must_repeat_the_exact_loopback_port(sqlite_world: World, sqlite_api: Backchannel) -> None:
    native, pkce = sqlite_world.client("native"), Pkce.new()
    browser = await logged_in(sqlite_world.server, sqlite_world.user("alice"))
    outcome = await browser.authorize(code_request(native, pkce, redirect_uri="http://127.0.0.1:50001/callback"))
    response = await sqlite_api.redeem(native, outcome.code, pkce, redirect_uri="http://127.0.0.1:50002/callback")
    assert_oauth_error(
        response, 400, "invalid_grant", "redirect_uri differs from the one used in the authorization request"
    )


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:51004/other",
        "http://localhost:51004/callback",
        "https://127.0.0.1:51004/callback",
        "http://127.0.0.2:51004/callback",
        "http://[::1]:51004/callback?x=1",
        "com.example.app:/other",
        "com.example.evil:/callback",
    ],
    ids=["other-path", "localhost", "https", "other-loopback-ip", "extra-query", "other-path-scheme", "other-scheme"],
)
async def test_anything_else_is_not_registered(sqlite_world: World, redirect_uri: str) -> None:
    async with HttpBrowser(sqlite_world.server) as browser:
        outcome = await browser.authorize(
            code_request(sqlite_world.client("native"), Pkce.new(), redirect_uri=redirect_uri)
        )
    assert_error_page(outcome.response, "This app sent a redirect URI that is not registered", f"Sent {redirect_uri}")
