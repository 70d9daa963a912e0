"""Two-factor login in headless Chromium: an authenticator app set up on the account page, codes at login
(each once, within a step either side of now), recovery codes (each once), and an admin's reset.

The server reads a clock the tests move forward by a TOTP step between logins, so that the next code
is a new one without waiting for it.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from two_factor_support import (
    REUSED_CODE,
    WRONG_CODE,
    alert,
    code_at,
    confirm_enrolment,
    enter_code,
    log_in_with_password,
)

from support.clock_server import ClockServer

pytestmark = pytest.mark.browser


async def _enrolled_user(page: Any, server: ClockServer) -> tuple[dict[str, Any], str, list[str]]:
    user = server.create_user()
    await log_in_with_password(page, server, user)
    await page.goto(f"{server.url}/account/two-factor")
    secret, codes = await confirm_enrolment(page, server)
    await page.context.clear_cookies()
    server.clock.advance(seconds=30)
    return user, secret, codes


async def test_a_user_sets_up_an_app_and_then_logs_in_with_its_codes(page: Any, clock_server: ClockServer) -> None:
    user = clock_server.create_user()
    await log_in_with_password(page, clock_server, user)
    assert "Off." in (await page.text_content("#two-factor + p") or "")
    # The link's page is read once it has loaded (a title read while it loads is the empty one of the next page).
    async with page.expect_navigation():
        await page.click("text=Set up an authenticator app")
    assert await page.title() == "Set up two-factor login · Gatepass"
    secret, codes = await confirm_enrolment(page, clock_server)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "Two-factor login is on." in (await page.text_content("[role=status]") or "")
    await page.click("text=I saved them, continue")
    assert await page.text_content("#recovery-codes-left") == "10"

    await page.context.clear_cookies()
    clock_server.clock.advance(seconds=30)
    await log_in_with_password(page, clock_server, user)
    assert page.url.startswith(f"{clock_server.url}/login/second-factor")
    assert await page.title() == "Two-factor login · Gatepass"
    await enter_code(page, code_at(secret, clock_server))
    assert page.url == f"{clock_server.url}/"
    assert await page.text_content("header .who") == user["email"]


async def test_a_wrong_code_and_a_used_code_are_refused_with_a_message(page: Any, clock_server: ClockServer) -> None:
    user, secret, _ = await _enrolled_user(page, clock_server)
    code = code_at(secret, clock_server)
    await log_in_with_password(page, clock_server, user)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    await enter_code(page, wrong)
    assert await alert(page) == WRONG_CODE
    assert await page.locator("header .who").count() == 0
    await enter_code(page, code)
    assert page.url == f"{clock_server.url}/"

    # The same code again, from another browser that knows the password: refused, it was used.
    await page.context.clear_cookies()
    await log_in_with_password(page, clock_server, user)
    await enter_code(page, code)
    assert await alert(page) == REUSED_CODE
    assert page.url.startswith(f"{clock_server.url}/login/second-factor")


async def test_a_recovery_code_logs_in_once(page: Any, clock_server: ClockServer) -> None:
    user, _, codes = await _enrolled_user(page, clock_server)
    await log_in_with_password(page, clock_server, user)
    await enter_code(page, codes[3].upper())
    assert page.url == f"{clock_server.url}/"
    await page.goto(f"{clock_server.url}/account/two-factor")
    assert await page.text_content("#recovery-codes-left") == "9"

    await page.context.clear_cookies()
    await log_in_with_password(page, clock_server, user)
    await enter_code(page, codes[3])
    assert await alert(page) == WRONG_CODE


async def test_the_cli_resets_a_users_factors_so_the_password_alone_logs_in(
    page: Any, clock_server: ClockServer
) -> None:
    user, secret, _ = await _enrolled_user(page, clock_server)
    await log_in_with_password(page, clock_server, user)
    assert page.url.startswith(f"{clock_server.url}/login/second-factor")
    # Reset while this login waits for its code: sending one goes on without it, as nothing requires one.
    result = clock_server.cli("user", "reset-factors", user["email"])
    assert result.stdout.strip() == (
        f"Reset the second factors of {user['email']}: at their next login they log in with their password alone."
    )
    await enter_code(page, code_at(secret, clock_server))
    assert page.url == f"{clock_server.url}/"
    await page.context.clear_cookies()
    await log_in_with_password(page, clock_server, user)
    assert page.url == f"{clock_server.url}/"
    assert "Off." in (await page.text_content("#two-factor + p") or "")
    again = clock_server.cli("user", "reset-factors", user["email"])
    assert again.stdout.strip() == f"{user['email']} had no second factor; nothing to reset."


async def test_recovery_codes_are_renewed_and_it_is_switched_off_with_the_password_or_a_code(
    page: Any, clock_server: ClockServer
) -> None:
    user, secret, codes = await _enrolled_user(page, clock_server)
    await log_in_with_password(page, clock_server, user)
    await enter_code(page, code_at(secret, clock_server))
    await page.goto(f"{clock_server.url}/account/two-factor")
    clock_server.clock.advance(seconds=30)
    await page.fill("#renew-proof", code_at(secret, clock_server))
    async with page.expect_navigation():
        await page.click("form[action='/account/two-factor/recovery-codes'] button")
    renewed = await page.locator("#recovery-codes li").all_text_contents()
    assert len(set(renewed)) == 10 and not set(renewed) & set(codes)
    await page.goto(f"{clock_server.url}/account/two-factor")
    await page.fill("#remove-proof", "not-my-password")
    async with page.expect_navigation():
        await page.click("form[action='/account/two-factor/remove'] button")
    assert await alert(page) == "Enter your password or a current code from your app to confirm."
    await page.fill("#remove-proof", user["password"])
    async with page.expect_navigation():
        await page.click("form[action='/account/two-factor/remove'] button")
    assert page.url == f"{clock_server.url}/account/two-factor?done=removed"
    assert await page.title() == "Set up two-factor login · Gatepass"


async def test_the_second_step_refuses_a_form_without_its_csrf_token_and_is_never_framed(
    clock_server: ClockServer,
) -> None:
    user = clock_server.create_user()
    async with httpx.AsyncClient(base_url=clock_server.url) as http:
        page = await http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        form = {"csrf_token": token.group(1), "email": user["email"], "password": user["password"], "next": "/"}
        assert (await http.post("/login", data=form)).status_code == 303
        step = await http.get("/login/second-factor")
        assert "frame-ancestors 'none'" in step.headers["content-security-policy"]
        refused = await http.post("/login/second-factor", data={"code": "123456", "next": "/"})
    assert refused.status_code == 400
    assert "The form expired or was sent from another site. Please try again." in refused.text


async def test_a_sealed_value_made_for_something_else_does_not_pass_for_a_half_done_login(
    clock_server: ClockServer,
) -> None:
    user = clock_server.create_user()
    async with httpx.AsyncClient(base_url=clock_server.url) as http:
        page = await http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        form = {"csrf_token": token.group(1), "email": user["email"], "password": user["password"], "next": "/"}
        assert (await http.post("/login", data=form)).status_code == 303
        setup = await http.get("/account/two-factor")
    sealed = re.search(r'name="sealed" value="([^"]+)"', setup.text)
    assert sealed is not None
    for cookie in (sealed.group(1), "not-sealed-at-all"):
        async with httpx.AsyncClient(base_url=clock_server.url, cookies={"gp_second_factor": cookie}) as stranger:
            answer = await stranger.get("/login/second-factor?next=/account")
        assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=%2Faccount")


async def test_guessing_codes_locks_the_login_out_as_guessing_passwords_does(
    page: Any, clock_server: ClockServer
) -> None:
    user, secret, _ = await _enrolled_user(page, clock_server)
    code = code_at(secret, clock_server)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    await log_in_with_password(page, clock_server, user)
    # The clock server locks an email out of an address after two failures (CLOCK_SERVER_ENV).
    for _ in range(2):
        await enter_code(page, wrong)
        assert await alert(page) == WRONG_CODE
    await enter_code(page, code)
    assert (await alert(page)).startswith("Too many failed attempts. Try again in ")
    assert await page.locator("header .who").count() == 0

    clock_server.clock.advance(seconds=301)
    await log_in_with_password(page, clock_server, user)
    await enter_code(page, code_at(secret, clock_server))
    assert page.url == f"{clock_server.url}/"
