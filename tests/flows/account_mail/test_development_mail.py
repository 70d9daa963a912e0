"""Without an SMTP server, `gatepass serve` says so at startup and writes each mail, link included, to its log
as development mail; the link there works."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from account_pages import ask_for_reset_link

from support.server import LiveServer

pytestmark = pytest.mark.browser


async def _logged_link(server: LiveServer, email: str) -> str:
    pattern = re.compile(r"DEVELOPMENT MAIL, not sent \(no mail\.smtp_host configured\)\\nTo: " + re.escape(email))
    link = re.compile(re.escape(server.url) + r"/password/reset\?token=[A-Za-z0-9_-]+")
    for _ in range(400):
        for line in server.log_path.read_text(encoding="utf-8").splitlines():
            found = link.search(line)
            if pattern.search(line) and found:
                return found.group(0)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no development mail to {email} in {server.log_path}")


async def test_without_smtp_the_reset_mail_is_logged_as_development_mail(sqlite_server: LiveServer, page: Any) -> None:
    startup = (
        "no mail.smtp_host configured: mails (password reset and verification links, security notices) are not sent"
    )
    assert startup in sqlite_server.log_path.read_text(encoding="utf-8")
    user = sqlite_server.create_user()
    await ask_for_reset_link(page, sqlite_server, user["email"])
    link = await _logged_link(sqlite_server, user["email"])
    response = await page.goto(link)
    assert response.status == 200
    assert await page.get_by_role("button", name="Set the new password").is_visible()
