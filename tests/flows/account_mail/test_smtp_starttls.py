"""mail.smtp_security=starttls never sends in clear: a server that offers no STARTTLS gets no mail, and a server
whose certificate is not trusted (self-signed, made here) gets none either, the upgrade having been tried and the
certificate checked. Each refusal leaves the page's answer as it is and is logged as not sent."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from account_pages import ask_for_reset_link
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from smtp_catcher import Mailbox, log_line_with

from support.clock_server import private_clock_server
from support.server import free_port

pytestmark = pytest.mark.browser

RESET = "Reset your Gatepass password"


class _Received:
    """The recipients of every mail the server accepted."""

    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


def _self_signed_tls_context(directory: Path) -> ssl.SSLContext:
    """A server context for 127.0.0.1 with a certificate signed by its own key, which no trust store holds."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


@pytest.fixture
def starttls_smtp(tmp_path: Path) -> Iterator[tuple[Controller, _Received]]:
    """An SMTP server that offers STARTTLS and takes no mail before it (RFC 3207 §4)."""
    received = _Received()
    controller = Controller(
        received, hostname="127.0.0.1", port=free_port(),
        tls_context=_self_signed_tls_context(tmp_path), require_starttls=True,
    )  # fmt: skip
    controller.start()
    yield controller, received
    controller.stop()


async def _refusal_logged(tmp_path_factory: pytest.TempPathFactory, port: int, page: Any) -> tuple[str, str]:
    """A reset link asked for through a Gatepass mailing with starttls to ``port``: the address and the log line
    of the mail not sent, the page having answered as always."""
    env = {
        "GATEPASS_MAIL_SMTP_HOST": "127.0.0.1",
        "GATEPASS_MAIL_SMTP_PORT": str(port),
        "GATEPASS_MAIL_SMTP_SECURITY": "starttls",
        "GATEPASS_MAIL_FROM_ADDRESS": "Gatepass <accounts@example.com>",
    }
    with private_clock_server("sqlite", tmp_path_factory.mktemp("gatepass-starttls"), env) as server:
        user = server.create_user()
        answer = await ask_for_reset_link(page, server, user["email"])
        assert f"If {user['email']} has an account here with a password, a link" in answer
        return user["email"], await log_line_with(server, f"could not send mail {RESET!r}:")


async def test_a_server_without_starttls_gets_no_mail(
    tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox, page: Any
) -> None:
    email, line = await _refusal_logged(tmp_path_factory, mailbox.port, page)
    assert f"{RESET!r}: SMTPException: SMTP STARTTLS extension not supported by server" in line
    assert mailbox.sent_to(email) == []


async def test_starttls_is_tried_and_an_untrusted_certificate_gets_no_mail(
    tmp_path_factory: pytest.TempPathFactory, starttls_smtp: tuple[Controller, _Received], page: Any
) -> None:
    controller, received = starttls_smtp
    _, line = await _refusal_logged(tmp_path_factory, controller.port, page)
    assert "certificate verify failed: self-signed certificate" in line
    assert received.recipients == []
