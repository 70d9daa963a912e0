"""Random tokens and their digests.

Tokens, codes and generated client secrets carry 256 bits from ``secrets`` and are stored only
as an HMAC-SHA-256 digest keyed by the instance secret (RFC 9700 §4.x: credentials at rest).
A fast keyed digest is enough here because the values are random, not chosen by people:
there is nothing to guess offline. Passwords, which people choose, use argon2 instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random string with ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def new_client_id() -> str:
    """A random client_id (128 bits) that never starts with "-", which command lines read as an option."""
    while True:
        client_id = secrets.token_urlsafe(16)
        if not client_id.startswith("-"):
            return client_id


def token_digest(key: bytes, token: str) -> str:
    """The value stored in place of ``token``: hex HMAC-SHA-256 under ``key``."""
    return hmac.new(key, token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def constant_time_equals(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode("utf-8", "surrogatepass"), right.encode("utf-8", "surrogatepass"))


def derive_key(instance_secret: bytes, purpose: str) -> bytes:
    """A separate 32-byte key per purpose, so one leaked derived key exposes nothing else."""
    return hmac.new(instance_secret, b"gatepass/" + purpose.encode(), hashlib.sha256).digest()


def half_hash(value: str) -> str:
    """OIDC Core §3.1.3.6 at_hash / c_hash for SHA-256 algorithms."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
