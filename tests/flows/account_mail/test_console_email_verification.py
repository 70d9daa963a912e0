"""An admin in the console makes a user whose address is not checked yet and sends them the verification link:
it arrives by SMTP, opening it verifies the address, the send is audited with the admin as actor, and the
console's sends share the account page's hourly limit per user."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from smtp_catcher import Mailbox

from support.clock_server import ClockServer
from support.console import ConsoleSession, log_in_page
from support.html import page_text
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, unique_email

pytestmark = pytest.mark.browser

CONFIRM = "Confirm your email address"
SEND = "Send a link to verify it"


async def _user_page(admin: ConsoleSession, email: str) -> str:
    listing = await admin.get("/admin/users", q=email)
    found = re.search(r'href="(/admin/users/\d+)">' + re.escape(email) + "<", listing.text)
    assert found is not None, f"{email} is not listed"
    return found.group(1)


async def test_an_admin_creates_a_user_with_an_unchecked_address_and_mails_the_verification_link(
    mail_server: ClockServer, mailbox: Mailbox, page: Any, http: httpx.AsyncClient
) -> None:
    email = unique_email("console-unverified")
    await page.goto(f"{mail_server.url}/admin/users")
    await log_in_page(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    await page.wait_for_url(f"{mail_server.url}/admin/users")
    await page.fill("#new-email", email)
    await page.fill("#new-password", PASSWORD)
    await page.get_by_label("Email address not checked yet").check()
    await page.get_by_role("button", name="Create user").click()
    await page.wait_for_url(re.compile(r".*/admin/users/\d+\?notice=created$"))
    assert "not verified" in await page.locator("dl.facts").inner_text()

    await page.get_by_role("button", name=SEND).click()
    await page.wait_for_url(re.compile(r".*/admin/users/\d+\?notice=verification_sent$"))
    assert "Verification link sent to the user's address" in await page.get_by_role("status").first.inner_text()
    mail = await mailbox.wait_for(email, CONFIRM)
    assert mail.link.startswith(f"{mail_server.url}/account/email/verify?token=")

    async with ConsoleSession(mail_server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        audit = page_text((await admin.get("/admin/audit", event="user.email_verification_sent", user=email)).text)
    assert f"admin:{ADMIN_EMAIL}" in audit

    # The user opens the link from their mailbox, on any device, without logging in.
    opened = await http.get(mail.link)
    assert opened.status_code == 200
    assert f"{email} is verified" in page_text(opened.text)
    await page.reload()
    facts = await page.locator("dl.facts").inner_text()
    assert f"{email} verified" in " ".join(facts.split()) and "not verified" not in facts
    assert await page.get_by_role("button", name=SEND).count() == 0


async def test_console_verification_links_are_refused_for_a_verified_address_and_past_the_hourly_limit(
    mail_server: ClockServer, mailbox: Mailbox
) -> None:
    unverified = unique_email("console-limit")
    mail_server.cli("user", "add", unverified, "--unverified-email")
    verified = mail_server.create_user()
    async with ConsoleSession(mail_server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        path = await _user_page(admin, unverified)
        already = await admin.post(f"{await _user_page(admin, verified['email'])}/email-verification")
        assert already.status_code == 400
        assert "The email address is verified already." in page_text(already.text)

        for _ in range(5):
            sent = await admin.post(f"{path}/email-verification")
            assert sent.status_code == 303
            assert sent.headers["location"] == f"{path}?notice=verification_sent"
        refused = await admin.post(f"{path}/email-verification")
        assert refused.status_code == 429
        assert "Several links were sent to this user already. Try again in" in page_text(refused.text)
        expired = await admin.post(f"{path}/email-verification", with_csrf=False)
        assert expired.status_code == 400
    await mailbox.wait_for(unverified, CONFIRM, count=5)
    assert len([mail for mail in mailbox.sent_to(unverified) if mail.subject == CONFIRM]) == 5
    assert mailbox.sent_to(verified["email"]) == []
