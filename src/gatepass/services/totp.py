"""Authenticator-app codes (TOTP, RFC 6238) with pyotp, and their QR code drawn as SVG with segno.

https://www.rfc-editor.org/rfc/rfc6238: six digits, 30-second steps, HMAC-SHA-1, the parameters every
authenticator app reads from an ``otpauth://`` URI.
"""

from __future__ import annotations

import hmac
import io
from datetime import datetime

import pyotp

STEP_SECONDS = 30
DIGITS = 6
#: RFC 6238 §5.2: one step either side of now, for clocks that drift and people who type slowly.
ACCEPTED_STEPS = (-1, 0, 1)


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226 §4 recommends 160), as authenticator apps take them."""
    return pyotp.random_base32(32)


def step_of(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step near ``now`` whose code is ``code``, compared in constant time; None when none is."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = step_of(now)
    found = None
    for offset in ACCEPTED_STEPS:
        step = current + offset
        # Every step is compared, found or not: the time taken says nothing about which one matched.
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            found = step
    return found


def provisioning_uri(secret: str, *, account: str, issuer_name: str) -> str:
    """The ``otpauth://totp/`` URI the QR code holds (the format Google Authenticator defined)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer_name
    )


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline ``<svg>`` element, drawn here: the secret goes to no other service."""
    # Imported when a user sets up an app, not at start-up: 4.5 MiB per worker for a page seldom shown.
    import segno

    output = io.BytesIO()
    segno.make(uri, error="m").save(output, kind="svg", xmldecl=False, scale=4, border=2, title="QR code")
    return output.getvalue().decode("utf-8")
