"""Mail goes through an SMTP server that asks for a login, and the SMTP password never reaches the log; a mail the
server refuses leaves the page's answer as it is and is logged as not sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from account_pages import ask_for_reset_link
from smtp_catcher import Mailbox, log_line_with

from support.clock_server import private_clock_server

pytestmark = pytest.mark.browser

RESET = "Reset your Gatepass password"
SMTP_USER, SMTP_PASSWORD = "gatepass", "smtp-secret-pa55word"


@pytest.fixture
def login_mailbox() -> Iterator[Mailbox]:
    box = Mailbox(credentials=(SMTP_USER, SMTP_PASSWORD)).start()
    yield box
    box.stop()


def _server(tmp_path_factory: pytest.TempPathFactory, box: Mailbox, password: str) -> Any:
    env = {**box.env, "GATEPASS_MAIL_SMTP_USER": SMTP_USER, "GATEPASS_MAIL_SMTP_PASSWORD": password}
    return private_clock_server("sqlite", tmp_path_factory.mktemp("gatepass-smtp-login"), env)


async def test_mail_goes_through_the_smtp_login_and_its_password_is_never_logged(
    tmp_path_factory: pytest.TempPathFactory, login_mailbox: Mailbox, page: Any
) -> None:
    with _server(tmp_path_factory, login_mailbox, SMTP_PASSWORD) as server:
        user = server.create_user()
        await ask_for_reset_link(page, server, user["email"])
        await login_mailbox.wait_for(user["email"], RESET)
        assert login_mailbox.logins == [SMTP_USER]
        log = server.log_path.read_text(encoding="utf-8")
    assert SMTP_PASSWORD not in log
    assert "DEVELOPMENT MAIL" not in log and "/password/reset?token=" not in log


async def test_a_mail_the_server_refuses_is_logged_and_the_answer_stays_the_same(
    tmp_path_factory: pytest.TempPathFactory, login_mailbox: Mailbox, page: Any
) -> None:
    wrong_password = "not-the-smtp-password"
    with _server(tmp_path_factory, login_mailbox, wrong_password) as server:
        user = server.create_user()
        answer = await ask_for_reset_link(page, server, user["email"])
        assert f"If {user['email']} has an account here with a password, a link" in answer
        line = await log_line_with(server, f"could not send mail {RESET!r}: SMTPAuthenticationError")
        log = server.log_path.read_text(encoding="utf-8")
    assert '"level": "warning"' in line
    assert login_mailbox.sent_to(user["email"]) == []
    assert wrong_password not in log
