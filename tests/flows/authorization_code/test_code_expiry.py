"""An authorization code is redeemable for its lifetime and not after (RFC 6749 §4.1.2: short-lived)."""

from __future__ import annotations

import httpx

from support.backchannel import Backchannel, assert_oauth_error
from support.browser import HttpBrowser, code_request
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.provision import World


async def test_a_code_redeems_until_its_lifetime_ends_and_is_invalid_grant_after(
    clock_world: World, http: httpx.AsyncClient
) -> None:
    server, web = clock_world.server, clock_world.client("web")
    assert isinstance(server, ClockServer)
    lifetime = server.settings.tokens.code_ttl_seconds
    in_time, late = Pkce.new(), Pkce.new()
    async with HttpBrowser(server, clock_world.user("alice")) as browser:
        in_time_code = (await browser.authorize(code_request(web, in_time))).code
        late_code = (await browser.authorize(code_request(web, late))).code
    api = Backchannel(http, server)

    server.clock.advance(seconds=lifetime - 2)
    assert (await api.redeem(web, in_time_code, in_time)).status_code == 200
    server.clock.advance(seconds=3)
    response = await api.redeem(web, late_code, late)
    assert_oauth_error(
        response, 400, "invalid_grant", "The authorization code has expired; start the authorization again"
    )
