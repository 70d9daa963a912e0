"""Handing mail to an SMTP server (aiosmtplib), or to the log when none is configured (development)."""

from __future__ import annotations

import logging
from email.message import EmailMessage

from gatepass.config import MailSettings
from gatepass.logging import UNREDACTED
from gatepass.services.mail import MailTransport, OutgoingMail

__all__ = ["DevelopmentLogTransport", "SmtpTransport", "transport_for"]

_log = logging.getLogger("gatepass.mail")
#: Connecting, each command and the whole message: a stuck server ends the attempt, never the process.
SMTP_TIMEOUT_SECONDS = 30


class SmtpTransport:
    def __init__(self, settings: MailSettings, sender: str) -> None:
        self._settings = settings
        self._sender = sender

    async def send(self, mail: OutgoingMail) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._sender, mail.to, mail.subject
        message.set_content(mail.text)
        settings = self._settings
        # Imported at the first mail, not at start-up: 6 MiB per worker that a deployment without SMTP never needs.
        import aiosmtplib

        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_security == "tls",
            # "starttls" requires the upgrade: a server that does not offer it fails the mail, never sends in clear.
            start_tls=settings.smtp_security == "starttls",
            timeout=SMTP_TIMEOUT_SECONDS,
        )


class DevelopmentLogTransport:
    """No SMTP server configured: each mail goes to the log, whole, so a developer can follow its link.

    Only here does a link reach a log: a deployment that sends mail never logs one.
    """

    async def send(self, mail: OutgoingMail) -> None:
        _log.warning(
            "DEVELOPMENT MAIL, not sent (no mail.smtp_host configured)\nTo: %s\nSubject: %s\n\n%s",
            mail.to,
            mail.subject,
            mail.text,
            extra={UNREDACTED: True},
        )


def transport_for(settings: MailSettings, sender: str) -> MailTransport:
    if settings.is_development:
        return DevelopmentLogTransport()
    return SmtpTransport(settings, sender)
