"""Servers that send their mail to a real SMTP server in the test process, on a clock the tests move."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.backends import FLOW_BACKENDS
from support.clock_server import ClockServer, private_clock_server

pytest.register_assert_rewrite("smtp_catcher", "account_pages")

from smtp_catcher import Mailbox  # noqa: E402


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="session", params=FLOW_BACKENDS)
def mail_server(
    request: pytest.FixtureRequest, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClockServer]:
    """Gatepass on each backend, mailing through ``mailbox``. Its clock moves (expiry tests): issue links
    after the last move, and keep no logged-in browser from one test to the next."""
    var_dir = tmp_path_factory.mktemp(f"gatepass-mail-{request.param}")
    env = {**mailbox.env, "GATEPASS_RATE_LIMITS_LOGIN_PER_IP_PER_MINUTE": "0"}
    with private_clock_server(request.param, var_dir, env) as live:
        yield live
