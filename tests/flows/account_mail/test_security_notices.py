"""A user is told by mail when their password changes, whoever changed it: themselves on the account page, an
admin on the console, or the command line."""

from __future__ import annotations

import re
from typing import Any

import pytest
from account_pages import log_in
from smtp_catcher import Mailbox

from support.clock_server import ClockServer
from support.console import ConsoleSession
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.browser

CHANGED = "Your Gatepass password was changed"


async def test_a_password_changed_by_its_owner_or_an_admin_is_noticed_by_mail(
    mail_server: ClockServer, mailbox: Mailbox, page: Any
) -> None:
    user = mail_server.create_user()
    await log_in(page, mail_server, user["email"], user["password"])
    await page.get_by_label("Current password").fill(user["password"])
    await page.get_by_label("New password (8+ characters)").fill("changed-by-me-1")
    await page.get_by_label("New password again").fill("changed-by-me-1")
    await page.get_by_role("button", name="Change password").click()
    await page.wait_for_url(f"{mail_server.url}/?password=changed")
    by_owner = await mailbox.wait_for(user["email"], CHANGED)
    assert by_owner.text.startswith(f"The password of your account {user['email']} was changed.")
    assert f"reset your password at once from the login page ({mail_server.url}/login)" in by_owner.text

    async with ConsoleSession(mail_server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        listing = await admin.get("/admin/users", q=user["email"])
        user_page = re.search(r'href="(/admin/users/\d+)">' + re.escape(user["email"]) + "<", listing.text)
        assert user_page is not None
        response = await admin.post(f"{user_page.group(1)}/password", {"password": "changed-by-admin-1"})
        assert response.status_code == 303
    by_admin = await mailbox.wait_for(user["email"], CHANGED, count=2)
    assert by_admin.to == (user["email"],)

    # The command line's process waits for the mail before it exits.
    mail_server.cli("user", "set-password", user["email"], "--password-stdin", input="changed-by-cli-1\n")
    assert len([mail for mail in mailbox.sent_to(user["email"]) if mail.subject == CHANGED]) == 3
