"""Connected apps say when an app last used its access: at its API calls, not at the moment it was granted."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from support.backchannel import Backchannel
from support.browser import HttpBrowser, code_request
from support.pkce import Pkce
from support.provision import provision
from support.server import LiveServer


def _last_used(account_page: str, app_name: str) -> str:
    """The "Last used" cell of the app's row on the account page."""
    row = next(row for row in account_page.split("<tr>") if app_name in row)
    found = re.search(r'data-label="Last used">([^<]*)</td>', row)
    assert found is not None, row
    return found.group(1).strip()


async def test_last_used_is_never_until_the_app_calls_an_api_then_the_time_of_that_call(
    server: LiveServer, api: Backchannel
) -> None:
    users, clients = provision(server, {"lu": {}}, lambda _: {"app": ("--name", "Last Use App")})
    user: dict[str, Any] = users["lu"]
    pkce = Pkce.new()
    async with HttpBrowser(server, user) as browser:
        code = (await browser.authorize(code_request(clients["app"], pkce, scope="openid email"))).code
        tokens = await api.tokens(clients["app"], code, pkce)
        assert _last_used((await browser.http.get("/")).text, "Last Use App") == "never"

        userinfo = await api.http.get(
            f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert userinfo.status_code == 200
        # Each worker writes the uses it saw every few seconds, in one statement: wait for that write.
        used = "never"
        for _ in range(100):
            used = _last_used((await browser.http.get("/")).text, "Last Use App")
            if used != "never":
                break
            await asyncio.sleep(0.1)
        assert used.endswith(" UTC") and used[:4].isdigit(), used
