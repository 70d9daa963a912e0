"""The [mail] settings: read like every other group, and refused with a message naming the key and the fix."""

from __future__ import annotations

import pytest

from gatepass.config import SettingsError, load_settings


def test_mail_settings_are_read_from_the_environment() -> None:
    settings = load_settings(
        {
            "GATEPASS_MAIL_SMTP_HOST": "smtp.example.com",
            "GATEPASS_MAIL_SMTP_PORT": "465",
            "GATEPASS_MAIL_SMTP_SECURITY": "tls",
            "GATEPASS_MAIL_SMTP_USER": "gatepass",
            "GATEPASS_MAIL_SMTP_PASSWORD": "secret",
            "GATEPASS_MAIL_FROM_ADDRESS": "Gatepass <accounts@example.com>",
            "GATEPASS_MAIL_PASSWORD_RESET_TTL_SECONDS": "600",
        }
    )
    mail = settings.mail
    assert (mail.smtp_host, mail.smtp_port, mail.smtp_security, mail.smtp_user, mail.smtp_password) == (
        "smtp.example.com", 465, "tls", "gatepass", "secret",
    )  # fmt: skip
    assert (mail.password_reset_ttl_seconds, mail.email_verification_ttl_seconds) == (600, 86400)
    assert not mail.is_development
    assert settings.mail_from == "Gatepass <accounts@example.com>"


def test_without_an_smtp_host_mail_is_for_development_and_comes_from_the_issuers_host() -> None:
    settings = load_settings({"GATEPASS_SERVER_ISSUER": "https://id.example.com"})
    assert settings.mail.is_development
    assert settings.mail_from == "gatepass@id.example.com"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"GATEPASS_MAIL_SMTP_SECURITY": "ssl"},
            "mail.smtp_security: 'ssl'; allowed starttls, tls, none",
        ),
        (
            {"GATEPASS_MAIL_FROM_ADDRESS": "Gatepass"},
            "mail.from_address: 'Gatepass' is not an email address such as gatepass@example.com",
        ),
        (
            {
                "GATEPASS_MAIL_SMTP_HOST": "smtp.example.com",
                "GATEPASS_MAIL_SMTP_SECURITY": "none",
                "GATEPASS_MAIL_SMTP_PASSWORD": "secret",
            },
            "mail.smtp_password: would be sent in plain text to 'smtp.example.com'; "
            "set mail.smtp_security to starttls or tls",
        ),
        (
            {"GATEPASS_MAIL_PASSWORD_RESET_TTL_SECONDS": "0"},
            "mail.password_reset_ttl_seconds (GATEPASS_MAIL_PASSWORD_RESET_TTL_SECONDS): 0 is out of range; "
            "allowed 1 to 86400",
        ),
    ],
    ids=["security", "from-address", "plain-password", "reset-ttl"],
)
def test_unusable_mail_settings_stop_startup_naming_the_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ)
    assert str(refused.value) == message
