"""Redeeming an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9700 §4.2.4).

The code must belong to the authenticated client, be unexpired and unused, be presented with
the same redirect_uri as the authorization request, and pass PKCE. Single use is enforced by
the store's atomic consume; this module only judges the loaded record. A failed PKCE check burns
the code (``CodeVerifierFailed``), so a stolen code gets exactly one guess at its verifier.
"""

from __future__ import annotations

from datetime import datetime

from gatepass.protocol import rfc7636_pkce
from gatepass.protocol.errors import InvalidGrant
from gatepass.protocol.values import CodeRecord


class CodeReused(InvalidGrant):
    """A code presented after it was redeemed: everything issued from it must be revoked (§4.1.2)."""

    def __init__(self) -> None:
        super().__init__("The authorization code was already used; tokens issued from it are revoked")


class CodeVerifierFailed(InvalidGrant):
    """The code_verifier did not prove the code (RFC 7636 §4.6): the code must be consumed, unredeemed."""


def check_code_redemption(
    code: CodeRecord | None,
    *,
    client_id: str,
    redirect_uri: str | None,
    code_verifier: str | None,
    now: datetime,
) -> CodeRecord:
    if code is None:
        raise InvalidGrant("The authorization code is invalid or has expired")
    if code.client_id != client_id:
        # RFC 6749 §4.1.3: ensure the code was issued to the authenticated client.
        raise InvalidGrant("The authorization code was issued to another client")
    if code.consumed_at is not None:
        raise CodeReused()
    if now >= code.expires_at:
        raise InvalidGrant("The authorization code has expired; start the authorization again")
    # RFC 6749 §4.1.3: redirect_uri is required when it was in the authorization request, and identical.
    if code.redirect_uri_was_sent and redirect_uri is None:
        raise InvalidGrant("redirect_uri is required: it was sent in the authorization request")
    if redirect_uri is not None and redirect_uri != code.redirect_uri:
        raise InvalidGrant("redirect_uri differs from the one used in the authorization request")
    try:
        rfc7636_pkce.check_code_verifier(code_verifier, code.code_challenge, code.code_challenge_method)
    except InvalidGrant as failed:
        raise CodeVerifierFailed(failed.description) from None
    return code
