"""A refresh token outlives its access token, as in Frappe."""

from __future__ import annotations

import httpx

from support.backchannel import INACTIVE, Backchannel, assert_oauth_error
from support.browser import HttpBrowser, code_request
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.provision import World


async def test_refresh_token_still_works_after_the_access_token_expired(
    clock_world: World, http: httpx.AsyncClient
) -> None:
    server, web, rs = clock_world.server, clock_world.client("web"), clock_world.client("rs")
    assert isinstance(server, ClockServer)
    lifetime = server.settings.tokens.access_token_ttl_seconds
    api = Backchannel(http, server)
    pkce = Pkce.new()
    async with HttpBrowser(server, clock_world.user("bob")) as browser:
        code = (await browser.authorize(code_request(web, pkce))).code
    tokens = await api.tokens(web, code, pkce)
    assert tokens["expires_in"] == lifetime
    assert (await api.introspect(rs, tokens["access_token"]))["active"] is True

    server.clock.advance(seconds=lifetime + 1)
    assert await api.introspect(rs, tokens["access_token"]) == INACTIVE
    assert (await api.introspect(rs, tokens["refresh_token"]))["active"] is True
    response = await api.refresh(web, tokens["refresh_token"])
    assert response.status_code == 200, response.text
    renewed = response.json()
    assert renewed["expires_in"] == lifetime
    seen = await api.introspect(rs, renewed["access_token"])
    assert (seen["active"], seen["username"]) == (True, clock_world.user("bob")["email"])


async def test_the_refresh_family_ends_at_its_lifetime_from_the_first_grant_however_often_it_rotated(
    clock_world: World, http: httpx.AsyncClient
) -> None:
    # RFC 9700 §4.14.2: rotation does not extend the family's lifetime.
    server, web, rs = clock_world.server, clock_world.client("web"), clock_world.client("rs")
    assert isinstance(server, ClockServer)
    lifetime = server.settings.tokens.refresh_token_ttl_seconds
    api = Backchannel(http, server)
    pkce = Pkce.new()
    async with HttpBrowser(server, clock_world.user("bob")) as browser:
        code = (await browser.authorize(code_request(web, pkce))).code
    refresh_token = (await api.tokens(web, code, pkce))["refresh_token"]
    for _ in range(2):
        server.clock.advance(seconds=lifetime / 2 - 60)
        refresh_token = (await api.refreshed(web, refresh_token))["refresh_token"]
    assert (await api.introspect(rs, refresh_token))["active"] is True

    server.clock.advance(seconds=121)
    assert await api.introspect(rs, refresh_token) == INACTIVE
    response = await api.refresh(web, refresh_token)
    assert_oauth_error(response, 400, "invalid_grant", "The refresh token has expired; ask the user to authorize again")
