"""Two users' tokens used in interleaved parallel requests each see only their own identity.

Frappe's forum knew "it executes with the last authorized user": per-request identity leaking
between requests. Many interleaved requests for two users must never cross.
"""

from __future__ import annotations

import asyncio
from typing import Any

from support.backchannel import Backchannel
from support.browser import code_request, logged_in
from support.pkce import Pkce
from support.provision import World

ROUNDS = 25


async def _code(world: World, user: dict[str, Any], client: dict[str, Any], pkce: Pkce) -> str:
    browser = await logged_in(world.server, user)
    return (await browser.authorize(code_request(client, pkce, scope="openid email"))).code


async def test_interleaved_parallel_requests_each_see_their_own_user(world: World, api: Backchannel) -> None:
    web, rs = world.client("web"), world.client("rs")
    alice, bob = world.user("alice"), world.user("bob")
    # Logins, consents and code exchanges of both users run at the same time too.
    pkce_a, pkce_b = Pkce.new(), Pkce.new()
    code_a, code_b = await asyncio.gather(_code(world, alice, web, pkce_a), _code(world, bob, web, pkce_b))
    tokens_a, tokens_b = await asyncio.gather(api.tokens(web, code_a, pkce_a), api.tokens(web, code_b, pkce_b))

    expected = {tokens_a["access_token"]: alice, tokens_b["access_token"]: bob}
    order = [token for _ in range(ROUNDS) for token in (tokens_a["access_token"], tokens_b["access_token"])]
    answers = await asyncio.gather(*(api.introspect(rs, token) for token in order))
    for token, answer in zip(order, answers, strict=True):
        user = expected[token]
        assert (answer["active"], answer["username"], answer["sub"], answer["email"]) == (
            True,
            user["email"],
            user["sub"],
            user["email"],
        )

    # Refreshes interleaved with introspections: new tokens still belong to their own user.
    refreshed = await asyncio.gather(
        api.refresh(web, tokens_a["refresh_token"]), api.refresh(web, tokens_b["refresh_token"])
    )
    fresh = {response.json()["access_token"]: user for response, user in zip(refreshed, (alice, bob), strict=True)}
    order = [token for _ in range(ROUNDS) for token in fresh]
    answers = await asyncio.gather(*(api.introspect(rs, token) for token in order))
    assert [answer["username"] for answer in answers] == [fresh[token]["email"] for token in order]
