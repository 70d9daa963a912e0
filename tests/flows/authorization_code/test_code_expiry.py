"""An authorization code expires (here after the shortest allowed lifetime, 10 s)."""

from __future__ import annotations

import httpx
import pytest
from flows_support import CODE_TTL_SECONDS, PrivateWorld

from support.backchannel import Backchannel, assert_oauth_error


@pytest.mark.expiry
async def test_expired_code_is_invalid_grant(private_world: PrivateWorld, http: httpx.AsyncClient) -> None:
    world = private_world.world
    await private_world.wait_until(private_world.code_issued_at, CODE_TTL_SECONDS)
    response = await Backchannel(http, world.server).redeem(world.client("web"), private_world.code, private_world.pkce)
    assert_oauth_error(
        response, 400, "invalid_grant", "The authorization code has expired; start the authorization again"
    )
