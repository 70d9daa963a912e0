"""One code, and one refresh token, each redeemed 20 times at once: exactly one success, on every backend.

Single use is decided by one conditional UPDATE in the database (STYLE §7.11); these races check
that no backend lets two of the parallel requests through.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from flows_support import obtain_tokens

from support.backchannel import INACTIVE, Backchannel
from support.browser import code_request, logged_in
from support.pkce import Pkce
from support.provision import World

PARALLEL = 20


async def test_one_code_redeemed_20_times_in_parallel_succeeds_once(world: World, api: Backchannel) -> None:
    web, pkce = world.client("web"), Pkce.new()
    browser = await logged_in(world.server, world.user("bob"))
    code = (await browser.authorize(code_request(web, pkce))).code
    responses = await asyncio.gather(*(api.redeem(web, code, pkce) for _ in range(PARALLEL)))
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 1, 400: PARALLEL - 1}, [response.text for response in responses]
    assert {response.json()["error"] for response in responses if response.status_code == 400} == {"invalid_grant"}
    # The code was presented more than once, so what it gave is taken back.
    winner = next(response.json() for response in responses if response.status_code == 200)
    assert await api.introspect(world.client("rs"), winner["access_token"]) == INACTIVE


async def test_one_refresh_token_redeemed_20_times_in_parallel_succeeds_once(world: World, api: Backchannel) -> None:
    web = world.client("web")
    tokens = await obtain_tokens(api, world.user("bob"), web)
    responses = await asyncio.gather(*(api.refresh(web, tokens["refresh_token"]) for _ in range(PARALLEL)))
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 1, 400: PARALLEL - 1}, [response.text for response in responses]
    assert {response.json()["error"] for response in responses if response.status_code == 400} == {"invalid_grant"}
    # The losers presented an already rotated token: the whole family is revoked (RFC 9700 §4.14.2).
    winner = next(response.json() for response in responses if response.status_code == 200)
    assert await api.introspect(world.client("rs"), winner["refresh_token"]) == INACTIVE
