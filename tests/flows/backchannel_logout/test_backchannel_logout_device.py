"""Back-Channel Logout for a device approved at /device: like an app signed in with a code, the device's
client takes part in the approving session (§2.1), and is told with that sid when the session ends."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import httpx
from device_support import DEVICE_GRANT, DeviceClient, decide, open_device_page, unique_address
from logout_support import QUICK_DELIVERY, check_delivery, id_token_claims, logout_client, receiver, sign_in

from support.browser import HttpBrowser
from support.server import LiveServer


async def test_logging_out_the_session_that_approved_a_device_tells_the_device_client(
    start_server: Callable[..., LiveServer], http: httpx.AsyncClient
) -> None:
    server = start_server("sqlite", **QUICK_DELIVERY)
    user = server.create_user()
    with receiver() as app:
        device_client = logout_client(server, app.uri, "--grant-type", DEVICE_GRANT, name="Logged-out Device")
        web_client = server.create_client("--skip-authorization", name="Hint Giver")
        device = DeviceClient(http, server.url, device_client)
        codes = await device.codes("openid")
        async with HttpBrowser(server, user) as browser:
            browser.http.headers["X-Forwarded-For"] = unique_address()
            await browser.login()
            await decide(browser, await open_device_page(browser, codes["user_code"]), "allow")
            tokens = await device.poll_once(codes["device_code"])
            assert tokens.status_code == 200, tokens.text
            id_token = id_token_claims(tokens.json()["id_token"], server, device_client["client_id"])
            hint, _ = await sign_in(browser, web_client)
            logout = await browser.http.get("/oauth/logout?" + urlencode({"id_token_hint": hint}))
            assert logout.status_code == 200, logout.text
        (delivered,) = app.wait_for(accepted=1)
    claims = check_delivery(delivered, server, device_client["client_id"])
    assert (claims["sid"], claims["sub"]) == (id_token["sid"], id_token["sub"])
