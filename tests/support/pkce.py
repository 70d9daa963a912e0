"""PKCE pairs as a client makes them (RFC 7636 §4.1-4.2): a random verifier and its S256 challenge."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str
    method: str = "S256"

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        return cls(verifier, s256(verifier))

    @property
    def params(self) -> dict[str, str]:
        """The authorization request's code_challenge and code_challenge_method."""
        return {"code_challenge": self.challenge, "code_challenge_method": self.method}
