"""Proof Key for Code Exchange (RFC 7636, https://www.rfc-editor.org/rfc/rfc7636).

S256 only by default (RFC 9700 §2.1.1); ``plain`` only for clients that allow it.
"""

from __future__ import annotations

import base64
import hashlib
import re

from gatepass.protocol.errors import InvalidGrant, InvalidRequest
from gatepass.protocol.tokens import constant_time_equals

# RFC 7636 §4.1: code-verifier = 43*128unreserved; §4.2 the same ABNF for the challenge.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
METHODS = ("S256", "plain")


def s256_challenge(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_code_challenge(
    challenge: str | None, method: str | None, *, is_required: bool, allow_plain: bool
) -> tuple[str | None, str | None]:
    """Validate the authorization request's PKCE pair; returns (challenge, method) to store."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method was sent without code_challenge")
        if is_required:
            raise InvalidRequest(
                "code_challenge is required: send code_challenge and code_challenge_method=S256 (RFC 7636)"
            )
        return None, None
    # RFC 7636 §4.3: the method defaults to "plain" when absent.
    method = method or "plain"
    if method not in METHODS:
        raise InvalidRequest(f"code_challenge_method '{method}' is not supported; use S256")
    if method == "plain" and not allow_plain:
        raise InvalidRequest("code_challenge_method=plain is not allowed for this client; use S256")
    if not _VERIFIER.match(challenge):
        raise InvalidRequest("code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]")
    return challenge, method


def check_code_verifier(verifier: str | None, challenge: str | None, method: str | None) -> None:
    """RFC 7636 §4.6: the verifier must transform to the stored challenge, else invalid_grant."""
    if challenge is None:
        if verifier is not None:
            # RFC 9700 §2.1.1: reject a verifier when no challenge was sent (PKCE downgrade).
            raise InvalidGrant("code_verifier was sent but the authorization request had no code_challenge")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required: this code was issued with a code_challenge")
    if not _VERIFIER.match(verifier):
        raise InvalidGrant("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
    computed = s256_challenge(verifier) if method == "S256" else verifier
    if not constant_time_equals(computed, challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
