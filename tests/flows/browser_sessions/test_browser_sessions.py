"""The sessions a user is logged in with, in Chromium: the account page lists each browser (device, address, times)
and signs one or every other out; an admin does the same from the user's console page. A browser signed out
is sent to the login page on its next request."""

from __future__ import annotations

from typing import Any

import pytest

from support.rows import audit_events, user_id
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.browser

FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ON_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)


async def _logged_in_page(browser: Any, server: LiveServer, email: str, password: str, user_agent: str) -> Any:
    context = await browser.new_context(user_agent=user_agent)
    page = await context.new_page()
    await page.goto(f"{server.url}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await page.wait_for_url(f"{server.url}/")
    return page


async def _is_logged_out(page: Any, server: LiveServer) -> bool:
    await page.goto(f"{server.url}/")
    return bool(page.url.startswith(f"{server.url}/login"))


async def _session_rows(page: Any) -> list[str]:
    rows: list[str] = await page.locator("#session-list tbody tr td:first-child").all_inner_texts()
    return rows


async def test_the_account_page_lists_both_browsers_and_signs_one_out(server: LiveServer, browser: Any) -> None:
    user = server.create_user()
    firefox = await _logged_in_page(browser, server, user["email"], user["password"], FIREFOX_ON_WINDOWS)
    phone = await _logged_in_page(browser, server, user["email"], user["password"], CHROME_ON_ANDROID)
    try:
        await firefox.reload()
        assert sorted(await _session_rows(firefox)) == ["Chrome on Android", "Firefox on Windows this browser"]
        addresses = await firefox.locator("#session-list tbody td[data-label=Address]").all_inner_texts()
        assert addresses == ["127.0.0.1", "127.0.0.1"]

        await firefox.get_by_role("button", name="Sign out Chrome on Android (127.0.0.1)").click()
        assert "That session was signed out" in await firefox.get_by_role("status").inner_text()
        assert await _session_rows(firefox) == ["Firefox on Windows this browser"]
        assert await _is_logged_out(phone, server)
        assert not await _is_logged_out(firefox, server)
        owner = user_id(server, user["email"])
        ended = [(ip, detail) for who, ip, detail in audit_events(server, "user.sessions_ended") if who == owner]
        assert ended == [("127.0.0.1", {"by": "self", "count": 1})]
    finally:
        await firefox.context.close()
        await phone.context.close()


async def test_signing_out_every_other_session_keeps_this_one(sqlite_server: LiveServer, browser: Any) -> None:
    user = sqlite_server.create_user()
    pages = [
        await _logged_in_page(browser, sqlite_server, user["email"], user["password"], agent)
        for agent in (FIREFOX_ON_WINDOWS, CHROME_ON_ANDROID, CHROME_ON_ANDROID)
    ]
    try:
        here = pages[0]
        await here.reload()
        assert len(await _session_rows(here)) == 3
        await here.get_by_role("button", name="Sign out every other session").click()
        assert "Every other session was signed out" in await here.get_by_role("status").inner_text()
        assert await _session_rows(here) == ["Firefox on Windows this browser"]
        assert [await _is_logged_out(page, sqlite_server) for page in pages] == [False, True, True]
    finally:
        for page in pages:
            await page.context.close()


async def test_an_admin_sees_a_users_sessions_and_signs_them_all_out(sqlite_server: LiveServer, browser: Any) -> None:
    user = sqlite_server.create_user()
    theirs = await _logged_in_page(browser, sqlite_server, user["email"], user["password"], CHROME_ON_ANDROID)
    admin = await _logged_in_page(browser, sqlite_server, ADMIN_EMAIL, ADMIN_PASSWORD, FIREFOX_ON_WINDOWS)
    try:
        await admin.goto(f"{sqlite_server.url}/admin/users?q={user['email']}")
        async with admin.expect_navigation():
            await admin.get_by_role("link", name=user["email"]).click()
        assert await _session_rows(admin) == ["Chrome on Android"]
        await admin.get_by_role("button", name="Sign out every session").click()
        assert "Signed out everywhere" in await admin.get_by_role("status").inner_text()
        assert "Not logged in anywhere." in await admin.locator("#sessions + p").inner_text()
        assert await _is_logged_out(theirs, sqlite_server)
        assert not await _is_logged_out(admin, sqlite_server)
        owner = user_id(sqlite_server, user["email"])
        ended = [detail for who, _, detail in audit_events(sqlite_server, "user.sessions_ended") if who == owner]
        assert ended == [{"by": "admin", "count": 1, "actor": f"admin:{ADMIN_EMAIL}"}]
    finally:
        await theirs.context.close()
        await admin.context.close()
