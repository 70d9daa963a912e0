"""Mail Gatepass sends to its users, sent in the background so no request waits for, or fails with, the SMTP server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

_log = logging.getLogger("gatepass.mail")


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str


class MailTransport(Protocol):
    """Hands one mail over (an SMTP server, or the log in development); raises when it cannot."""

    async def send(self, mail: OutgoingMail) -> None: ...


class Outbox:
    """Work that ends in a mail, run after the answer: a slow or failing SMTP server costs the request nothing,
    and whether a mail was sent at all never shows in an answer or its timing."""

    def __init__(self, transport: MailTransport) -> None:
        self._transport = transport
        self._pending: set[asyncio.Task[None]] = set()

    def send_later(self, mail: OutgoingMail) -> None:
        self.run_later(lambda: self._transport.send(mail), what=f"mail {mail.subject!r}")

    def run_later(self, work: Callable[[], Awaitable[None]], *, what: str) -> None:
        """Start ``work`` now and return at once; a failure is logged (without the mail's text, which may
        hold a link)."""

        async def run() -> None:
            try:
                await work()
            except Exception as error:  # a mail that cannot go must never reach the request that asked for it
                _log.warning("could not send %s: %s: %s", what, type(error).__name__, error)

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the mails under way (at shutdown, so none is lost on a clean stop)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


__all__ = ["MailTransport", "Outbox", "OutgoingMail"]
