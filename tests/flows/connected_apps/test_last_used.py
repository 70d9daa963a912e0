"""Connected apps say when an app last used its access: at its API calls, not at the moment it was granted."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx

from support.backchannel import Backchannel
from support.browser import HttpBrowser, code_request
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.provision import provision


def _last_used(account_page: str, app_name: str) -> str:
    """The "Last used" cell of the app's row on the account page."""
    row = next(row for row in account_page.split("<tr>") if app_name in row)
    found = re.search(r'data-label="Last used">([^<]*)</td>', row)
    assert found is not None, row
    return found.group(1).strip()


async def test_last_used_is_never_until_the_app_calls_an_api_then_the_time_of_that_call(
    clock_server: ClockServer, http: httpx.AsyncClient
) -> None:
    server, api = clock_server, Backchannel(http, clock_server)
    users, clients = provision(server, {"lu": {}}, lambda _: {"app": ("--name", "Last Use App")})
    user: dict[str, Any] = users["lu"]
    pkce = Pkce.new()
    async with HttpBrowser(server, user) as browser:
        code = (await browser.authorize(code_request(clients["app"], pkce, scope="openid email"))).code
        tokens = await api.tokens(clients["app"], code, pkce)
        assert _last_used((await browser.http.get("/")).text, "Last Use App") == "never"

        # Most of the token's lifetime after the grant, so the time shown is told apart from the grant's.
        server.clock.advance(seconds=server.settings.tokens.access_token_ttl_seconds - 120)
        called_at = server.clock()
        userinfo = await api.http.get(
            f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert userinfo.status_code == 200
        # Each worker writes the uses it saw on a timer, in one statement: write them now.
        await asyncio.to_thread(server.run, lambda services: services.access_tokens.flush_last_use())
        used = _last_used((await browser.http.get("/")).text, "Last Use App")
    shown = {f"{moment:%Y-%m-%d %H:%M} UTC" for moment in (called_at, called_at + timedelta(minutes=1))}
    assert used in shown, (used, shown)
