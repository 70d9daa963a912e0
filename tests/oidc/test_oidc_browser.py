"""The OpenID Connect code flow in real headless Chromium: login page, consent page, redirect back.

The relying party's callback is answered by Playwright, which records the URL the browser was sent to.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import pytest
from oidc_support import authentication_request, redeem, verify_id_token

from support.browser import AUTHORIZE, redirect_params
from support.pkce import Pkce
from support.provision import World
from support.server import REDIRECT_URI


@pytest.mark.browser
async def test_chromium_logs_in_consents_and_the_code_yields_a_verifiable_id_token(
    oidc_sqlite: World, page: Any
) -> None:
    server, user, client = oidc_sqlite.server, oidc_sqlite.user("alice"), oidc_sqlite.client("web")
    pkce = Pkce.new()
    # prompt=consent: the consent page shows even if another test already consented for Alice.
    request = authentication_request(client, pkce, prompt="consent")
    callback: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def answer_callback(route: Any) -> None:
        if not callback.done():
            callback.set_result(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="signed in")

    await page.route(REDIRECT_URI + "*", answer_callback)
    await page.goto(f"{server.url}{AUTHORIZE}?{urlencode(request)}")
    await page.wait_for_url(f"{server.url}/login*")
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    await page.click("button[type=submit]")
    await page.wait_for_selector("form[action='/oauth/consent']")
    assert client["app_name"] in await page.title()
    await page.click("button[value=allow]")
    url = await asyncio.wait_for(callback, timeout=15)

    params = redirect_params(url)
    assert url.startswith(REDIRECT_URI + "?")
    assert set(params) == {"code", "state", "iss"}
    assert (params["state"], params["iss"]) == (request["state"], server.url)
    tokens = await redeem(server, client, params["code"], pkce)
    claims = verify_id_token(tokens["id_token"], server, client["client_id"])
    assert (claims["sub"], claims["nonce"]) == (user["sub"], request["nonce"])
