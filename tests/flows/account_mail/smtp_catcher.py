"""A real SMTP server in the test process (aiosmtpd), receiving what Gatepass sends, and the links in it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from support.server import LiveServer, free_port

_LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class ReceivedMail:
    to: tuple[str, ...]
    sender: str
    subject: str
    text: str

    @property
    def link(self) -> str:
        links = _LINK.findall(self.text)
        assert len(links) == 1, f"expected one link in {self.text!r}"
        return str(links[0])


class _Collect:
    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        self._mailbox.add(
            ReceivedMail(tuple(envelope.rcpt_tos), str(envelope.mail_from), str(message["subject"]), body.get_content())
        )
        return "250 OK"


class Mailbox:
    """Every mail the SMTP server accepted, by recipient. With ``credentials`` it offers AUTH over plain SMTP
    (which Gatepass allows on loopback only) and accepts only those; ``logins`` lists who logged in."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self._mails: list[ReceivedMail] = []
        self._lock = threading.Lock()
        #: The user names of the logins accepted.
        self.logins: list[str] = []
        self._credentials = credentials
        if credentials is None:
            self._controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        else:
            self._controller = Controller(
                _Collect(self), hostname="127.0.0.1", port=self.port,
                authenticator=self._authenticate, auth_require_tls=False,
            )  # fmt: skip

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self._credentials is None:
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        if (login, password) != self._credentials:
            return AuthResult(success=False, handled=False)
        self.logins.append(login)
        return AuthResult(success=True)

    @property
    def env(self) -> dict[str, str]:
        """The settings that point a Gatepass at this server (plain SMTP on loopback, no login)."""
        return {
            "GATEPASS_MAIL_SMTP_HOST": "127.0.0.1",
            "GATEPASS_MAIL_SMTP_PORT": str(self.port),
            "GATEPASS_MAIL_SMTP_SECURITY": "none",
            "GATEPASS_MAIL_FROM_ADDRESS": "Gatepass <accounts@example.com>",
        }

    def start(self) -> Mailbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def add(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._mails.append(mail)

    def sent_to(self, address: str) -> list[ReceivedMail]:
        with self._lock:
            return [mail for mail in self._mails if address in mail.to]

    async def wait_for(self, address: str, subject: str, *, count: int = 1) -> ReceivedMail:
        """The ``count``-th mail to ``address`` with this subject, once it has arrived (sent in the background)."""
        for _ in range(400):
            matching = [mail for mail in self.sent_to(address) if mail.subject == subject]
            if len(matching) >= count:
                return matching[count - 1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail {subject!r} to {address}; got {[m.subject for m in self.sent_to(address)]}")


async def log_line_with(server: LiveServer, text: str) -> str:
    """The first line of the server's log holding ``text`` (a mail is sent, or fails, after the answer)."""
    for _ in range(400):
        for line in server.log_path.read_text(encoding="utf-8").splitlines():
            if text in line:
                return line
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} is not in the log {server.log_path}")
