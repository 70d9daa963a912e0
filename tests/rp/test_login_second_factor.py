"""A user who logs in through another provider sets up an authenticator app, then gets the second step
after the provider, in headless Chromium between two Gatepass servers on loopback."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest
from rp_support import audit_details, connect_with_user, login_via

from support.server import LiveServer

pytestmark = pytest.mark.browser


async def test_a_social_login_user_with_an_app_gets_the_second_step_after_the_provider(
    app: LiveServer, idp: LiveServer, page: Any
) -> None:
    name, user = connect_with_user(app, idp, "--allow-signup")
    await login_via(page, app, name, user)
    await page.goto(f"{app.url}/account/two-factor")
    secret = (await page.text_content("#totp-secret") or "").strip()
    await page.fill("#code", pyotp.TOTP(secret).now())
    async with page.expect_navigation():
        await page.click("form[action$='/enrol'] button[type=submit]")
    assert await page.locator("#recovery-codes li").count() == 10

    await login_via(page, app, name, user)
    assert page.url.startswith(f"{app.url}/login/second-factor")
    assert await page.locator("header .who").count() == 0
    # The next step's code: the one shown at setup was used, and a step is accepted once.
    await page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
    async with page.expect_navigation():
        await page.click("form[action='/login/second-factor'] button[type=submit]")
    assert page.url == f"{app.url}/"
    assert await page.text_content("header .who") == user["email"]
    assert any(detail.get("method") == "totp" for detail in audit_details(app, "login.second_factor_succeeded"))
