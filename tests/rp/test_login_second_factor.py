"""A user who logs in through another provider sets up an authenticator app, then gets the second step
after the provider, in headless Chromium between two Gatepass servers on loopback."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest
from rp_support import audit_details, connect, connect_with_user, login_at_idp, login_via, start_login

from support.rows import rows
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


async def _enrol_at(page: Any, server: LiveServer, user: dict[str, Any]) -> tuple[str, list[str]]:
    """Log in to ``server`` with the password and set up an authenticator app there; its key and recovery codes."""
    await page.context.clear_cookies()
    await page.goto(f"{server.url}/login?next=/account/two-factor")
    await login_at_idp(page, user)
    await page.wait_for_url(f"{server.url}/account/two-factor")
    secret = (await page.text_content("#totp-secret") or "").strip()
    await page.fill("#code", pyotp.TOTP(secret).now())
    async with page.expect_navigation():
        await page.click("form[action$='/enrol'] button[type=submit]")
    return secret, await page.locator("#recovery-codes li").all_text_contents()


async def _amr_of_the_login(
    page: Any, app: LiveServer, idp: LiveServer, name: str, user: dict[str, Any], code: str
) -> str:
    """Log in to the app through the IdP, which asks for its code; the amr of the app's new session."""
    await page.context.clear_cookies()
    await start_login(page, app, name)
    await login_at_idp(page, user)
    await page.wait_for_url(f"{idp.url}/login/second-factor*")
    await page.fill("#code", code)
    await page.click("form[action='/login/second-factor'] button[type=submit]")
    await page.wait_for_url(f"{app.url}/")
    found = rows(app, "SELECT s.amr FROM login_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?"
                 " ORDER BY s.id DESC", user["email"])  # fmt: skip
    return str(found[0][0])


async def test_a_trusted_providers_second_factor_is_passed_on_and_an_untrusted_ones_is_not(
    app: LiveServer, idp: LiveServer, page: Any
) -> None:
    trusted, user = connect_with_user(app, idp, "--allow-signup", "--trust-amr")
    untrusted = connect(app, idp, "--allow-signup")
    secret, recovery_codes = await _enrol_at(page, idp, user)
    # The next step's code (the one shown at setup was used), then a recovery code: each is accepted once.
    next_code = pyotp.TOTP(secret).at(time.time() + 30)
    assert await _amr_of_the_login(page, app, idp, trusted, user, next_code) == "fed pwd otp mfa"
    assert await _amr_of_the_login(page, app, idp, untrusted, user, recovery_codes[0]) == "fed"
