"""A login session lasts its lifetime (tokens.session_ttl_seconds); after it, the user logs in again."""

from __future__ import annotations

from support.browser import HttpBrowser, code_request
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.provision import World


async def test_an_authorization_after_the_session_ran_out_asks_for_the_login_again(clock_world: World) -> None:
    server, web = clock_world.server, clock_world.client("web")
    assert isinstance(server, ClockServer)
    lifetime = server.settings.tokens.session_ttl_seconds
    async with HttpBrowser(server, clock_world.user("alice")) as browser:
        await browser.login()
        server.clock.advance(seconds=lifetime - 60)
        assert await browser.is_logged_in()
        within = await browser.authorize(code_request(web, Pkce.new()))
        server.clock.advance(seconds=61)
        assert not await browser.is_logged_in()
        after = await browser.authorize(code_request(web, Pkce.new()))
    assert "login" not in within.pages
    assert after.pages[:1] == ["login"]
    assert set(after.params) == {"code", "state", "iss"}
