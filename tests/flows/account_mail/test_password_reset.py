"""Forgot password, in Chromium: the link arrives by SMTP, sets a new password once, signs every browser out and
is followed by a notice; a used or expired link is refused saying so, and an unknown email gets the same page."""

from __future__ import annotations

from typing import Any

import pytest
from account_pages import ask_for_reset_link, log_in
from smtp_catcher import Mailbox

from gatepass.services.mail_links import EXPIRED_LINK, USED_LINK
from support.browser import HttpBrowser
from support.clock_server import ClockServer
from support.rows import audit_events, user_id
from support.server import unique_email

pytestmark = pytest.mark.browser

RESET = "Reset your Gatepass password"
CHANGED = "Your Gatepass password was changed"
NEW_PASSWORD = "a-new-password-9"


async def _set_password(page: Any, link: str, password: str) -> str:
    response = await page.goto(link)
    assert response.status == 200
    await page.get_by_label("New password (8+ characters)").fill(password)
    await page.get_by_label("New password again").fill(password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Set the new password").click()
    text: str = await page.locator("main").inner_text()
    return text


async def test_a_forgotten_password_is_reset_through_the_mailed_link_once(
    mail_server: ClockServer, mailbox: Mailbox, browser: Any
) -> None:
    user = mail_server.create_user()
    elsewhere = await browser.new_context()
    here = await browser.new_context()
    try:
        await log_in(await elsewhere.new_page(), mail_server, user["email"], user["password"])
        page = await here.new_page()
        assert "a link to choose a new one is on its way" in await ask_for_reset_link(page, mail_server, user["email"])
        mail = await mailbox.wait_for(user["email"], RESET)
        assert mail.sender == "accounts@example.com"
        assert mail.link.startswith(f"{mail_server.url}/password/reset?token=")

        done = await _set_password(page, mail.link, NEW_PASSWORD)
        assert "Your password was changed. You were signed out everywhere" in done
        notice = await mailbox.wait_for(user["email"], CHANGED)
        assert f"The password of your account {user['email']} was changed" in notice.text

        # The browser logged in before the reset is signed out.
        signed_out = elsewhere.pages[0]
        await signed_out.goto(f"{mail_server.url}/")
        assert signed_out.url.startswith(f"{mail_server.url}/login")

        # Twice: refused, saying the link was used, with the way to a new one.
        again = await page.goto(mail.link)
        assert again.status == 400
        assert await page.get_by_role("alert").inner_text() == USED_LINK
        assert await page.get_by_role("link", name="Ask for a new link").is_visible()
    finally:
        await elsewhere.close()
        await here.close()
    async with HttpBrowser(mail_server, {**user, "password": NEW_PASSWORD}) as with_new_password:
        await with_new_password.login()
        assert await with_new_password.is_logged_in()
    async with HttpBrowser(mail_server, user) as with_old_password:
        refused = await with_old_password.submit_login(await with_old_password.http.get("/login"))
        assert refused.status_code == 401
    owner = user_id(mail_server, user["email"])
    changes = [detail for who, _, detail in audit_events(mail_server, "user.password_changed") if who == owner]
    assert [(change["by"], change["signed_out_everywhere"]) for change in changes] == [("reset link", True)]
    requests = [who for who, _, _ in audit_events(mail_server, "user.password_reset_requested")]
    assert requests.count(owner) == 1


async def test_an_unknown_email_gets_the_same_page_and_no_mail(
    mail_server: ClockServer, mailbox: Mailbox, page: Any
) -> None:
    user = mail_server.create_user()
    nobody = unique_email("nobody")
    unknown_answer = await ask_for_reset_link(page, mail_server, nobody)
    known_answer = await ask_for_reset_link(page, mail_server, user["email"])
    assert unknown_answer.replace(nobody, "EMAIL") == known_answer.replace(user["email"], "EMAIL")
    await mailbox.wait_for(user["email"], RESET)
    assert mailbox.sent_to(nobody) == []


async def test_an_expired_link_is_refused_saying_so(mail_server: ClockServer, mailbox: Mailbox, page: Any) -> None:
    user = mail_server.create_user()
    await ask_for_reset_link(page, mail_server, user["email"])
    mail = await mailbox.wait_for(user["email"], RESET)
    mail_server.clock.advance(minutes=31)
    response = await page.goto(mail.link)
    assert response.status == 400
    assert await page.get_by_role("alert").inner_text() == EXPIRED_LINK
    async with HttpBrowser(mail_server, user) as with_old_password:
        await with_old_password.login()


async def test_a_reset_ends_the_lockout_that_guessing_the_forgotten_password_caused(
    mail_server: ClockServer, mailbox: Mailbox, page: Any
) -> None:
    user = mail_server.create_user()
    async with HttpBrowser(mail_server, {**user, "password": "not-my-password"}) as guessing:
        statuses = [(await guessing.submit_login(await guessing.http.get("/login"))).status_code for _ in range(6)]
    assert statuses == [401, 401, 401, 401, 401, 429]
    await ask_for_reset_link(page, mail_server, user["email"])
    mail = await mailbox.wait_for(user["email"], RESET)
    assert "Your password was changed" in await _set_password(page, mail.link, NEW_PASSWORD)
    async with HttpBrowser(mail_server, {**user, "password": NEW_PASSWORD}) as owner:
        await owner.login()
        assert await owner.is_logged_in()
