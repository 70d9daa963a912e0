"""What the two-factor tests share: a person's browser steps, and codes made as their phone would make them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyotp

from support.clock_server import ClockServer
from support.server import LiveServer

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
