"""What the two-factor tests share: a person's browser steps, and codes made as their phone would make them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pyotp

from support.clock_server import ClockServer
from support.server import REDIRECT_URI, LiveServer

ENROL_BUTTON = "form[action$='/enrol'] button[type=submit]"
STEP_BUTTON = "form[action='/login/second-factor'] button[type=submit]"
WRONG_CODE = "That code is not right. Enter the 6-digit code your app shows now, or one of your recovery codes."
REUSED_CODE = "That code was used already. Wait for your app to show the next one."


def code_at(secret: str, server: LiveServer) -> str:
    """The code the user's app shows at the server's time (a clock server's may run ahead of the real one)."""
    now = server.clock() if isinstance(server, ClockServer) else datetime.now().astimezone()
    return pyotp.TOTP(secret).at(now)


async def log_in_with_password(page: Any, server: LiveServer, user: dict[str, Any], next_path: str = "/") -> None:
    await page.goto(f"{server.url}/login?next={next_path}")
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    async with page.expect_navigation():
        await page.click("form[action='/login'] button[type=submit]")


async def enter_code(page: Any, code: str) -> None:
    await page.fill("#code", code)
    async with page.expect_navigation():
        await page.click(STEP_BUTTON)


async def confirm_enrolment(page: Any, server: LiveServer) -> tuple[str, list[str]]:
    """On the setup page: read the key as a person would type it into their app, enter the app's code, and
    return the key and the recovery codes shown once."""
    secret = (await page.text_content("#totp-secret") or "").strip()
    assert await page.locator("figure.qr svg").count() == 1
    await page.fill("#code", code_at(secret, server))
    async with page.expect_navigation():
        await page.click(ENROL_BUTTON)
    codes = [code.strip() for code in await page.locator("#recovery-codes li").all_text_contents()]
    return secret, codes


async def alert(page: Any) -> str:
    return (await page.text_content("[role=alert]") or "").strip()


async def catch_callback(page: Any) -> asyncio.Future[str]:
    """The URL the browser is next sent to at the client's redirect URI, answered here as the app would."""
    callback: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def answer(route: Any) -> None:
        if not callback.done():
            callback.set_result(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="signed in")

    await page.unroute(REDIRECT_URI + "*")
    await page.route(REDIRECT_URI + "*", answer)
    return callback
