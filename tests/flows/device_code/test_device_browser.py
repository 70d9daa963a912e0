"""The user's part of the device flow in headless Chromium, and devices polling at once after approval.

In Chromium: the device's verification_uri opens the login page; after login the user types the code
(lower case, without the dash) and presses Continue, sees the app, its scopes and the code to compare,
and allows. The device-flow client of device_support.py then polls for its tokens over HTTP.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from device_support import DEVICE_GRANT, DeviceClient, decide, open_device_page, unique_address

from support.backchannel import assert_oauth_error
from support.browser import HttpBrowser
from support.clock_server import ClockServer


@pytest.mark.browser
async def test_chromium_types_the_code_allows_the_device_and_the_device_gets_tokens(
    sqlite_clock_server: ClockServer, page: Any, http: httpx.AsyncClient
) -> None:
    server = sqlite_clock_server
    client = server.create_client("--public", "--grant-type", DEVICE_GRANT, name="Browserless Printer")
    user = server.create_user(first_name="Pia", last_name="Printer")
    device = DeviceClient(http, server.url, client)
    codes = await device.codes("openid profile")

    await page.set_extra_http_headers({"X-Forwarded-For": unique_address()})
    await page.goto(codes["verification_uri"])
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    await page.click("button[type=submit]")
    await page.wait_for_selector("#user_code")
    await page.fill("#user_code", codes["user_code"].replace("-", "").lower())
    await page.click("form[action='/device'] button[type=submit]")
    await page.wait_for_selector("button[value=allow]")
    shown = await page.inner_text("main")
    assert "Allow Browserless Printer on your device to access your account?" in shown
    assert codes["user_code"] in shown
    await page.click("button[value=allow]")
    await page.wait_for_selector("text=Device connected")

    async def wait(seconds: float) -> None:
        server.clock.advance(seconds=seconds)

    tokens = await device.poll(codes, wait)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["scope"] == "openid profile"


async def test_of_devices_polling_at_once_after_approval_one_gets_the_tokens(
    sqlite_clock_server: ClockServer, http: httpx.AsyncClient
) -> None:
    server = sqlite_clock_server
    client = server.create_client("--grant-type", DEVICE_GRANT, name="Racing Console")
    device = DeviceClient(http, server.url, client)
    codes = await device.codes("profile")
    async with HttpBrowser(server, server.create_user()) as browser:
        browser.http.headers["X-Forwarded-For"] = unique_address()
        await browser.login()
        await decide(browser, await open_device_page(browser, codes["user_code"]), "allow")
    server.clock.advance(seconds=codes["interval"])
    answers = await asyncio.gather(*(device.poll_once(codes["device_code"]) for _ in range(5)))
    assert sorted(answer.status_code for answer in answers) == [200, 400, 400, 400, 400]
    for answer in answers:
        if answer.status_code == 400:
            assert_oauth_error(answer, 400, "invalid_grant", "The device_code was used already")
