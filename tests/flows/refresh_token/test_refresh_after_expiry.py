"""A refresh token outlives its access token, as in Frappe (the access token lifetime is 60 s here)."""

from __future__ import annotations

import httpx
import pytest
from flows_support import ACCESS_TOKEN_TTL_SECONDS, PrivateWorld

from support.backchannel import INACTIVE, Backchannel


@pytest.mark.expiry
async def test_refresh_token_still_works_after_the_access_token_expired(
    private_world: PrivateWorld, http: httpx.AsyncClient
) -> None:
    world, tokens = private_world.world, private_world.tokens
    api = Backchannel(http, world.server)
    web, rs = world.client("web"), world.client("rs")
    assert tokens["expires_in"] == ACCESS_TOKEN_TTL_SECONDS
    await private_world.wait_until(private_world.tokens_issued_at, ACCESS_TOKEN_TTL_SECONDS)

    assert await api.introspect(rs, tokens["access_token"]) == INACTIVE
    assert (await api.introspect(rs, tokens["refresh_token"]))["active"] is True
    response = await api.refresh(web, tokens["refresh_token"])
    assert response.status_code == 200, response.text
    renewed = response.json()
    assert renewed["expires_in"] == ACCESS_TOKEN_TTL_SECONDS
    seen = await api.introspect(rs, renewed["access_token"])
    assert (seen["active"], seen["username"]) == (True, world.user("eve")["email"])
