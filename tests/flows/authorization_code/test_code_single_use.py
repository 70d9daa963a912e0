"""Codes are single use, and a code redeemed twice takes back what it gave (RFC 6749 §4.1.2, RFC 9700 §4.2.4)."""

from __future__ import annotations

from support.backchannel import INACTIVE, Backchannel, assert_oauth_error
from support.browser import code_request, logged_in
from support.pkce import Pkce
from support.provision import World


async def test_code_reuse_fails_and_revokes_the_tokens_issued_from_it(world: World, api: Backchannel) -> None:
    web, rs, pkce = world.client("web"), world.client("rs"), Pkce.new()
    browser = await logged_in(world.server, world.user("alice"))
    code = (await browser.authorize(code_request(web, pkce))).code
    first = await api.tokens(web, code, pkce)
    assert (await api.introspect(rs, first["access_token"]))["active"] is True

    again = await api.redeem(web, code, pkce)
    assert_oauth_error(
        again, 400, "invalid_grant", "The authorization code was already used; tokens issued from it are revoked"
    )
    assert await api.introspect(rs, first["access_token"]) == INACTIVE
    assert await api.introspect(rs, first["refresh_token"]) == INACTIVE
    assert_oauth_error(
        await api.refresh(web, first["refresh_token"]), 400, "invalid_grant", "The refresh token has been revoked"
    )
