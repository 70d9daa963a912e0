"""The account pages as a person uses them in Chromium: log in, ask for a reset link."""

from __future__ import annotations

from typing import Any

from support.server import LiveServer


async def log_in(page: Any, server: LiveServer, email: str, password: str) -> None:
    await page.goto(f"{server.url}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await page.wait_for_url(f"{server.url}/")


async def ask_for_reset_link(page: Any, server: LiveServer, email: str) -> str:
    """From the login page's link, as a person would; the text of the answer."""
    await page.goto(f"{server.url}/login")
    await page.get_by_role("link", name="Forgot password?").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Send me a link").click()
    await page.wait_for_selector("p.notice")
    text: str = await page.locator("main").inner_text()
    return text
