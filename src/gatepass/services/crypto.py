"""Keys derived from the instance secret, one per purpose, and password hashing."""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken

from gatepass.protocol.tokens import derive_key

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the email is unknown takes as long as a real check (no timing oracle).

    Made on first use, not at import: every CLI call imports this module.
    """
    return _HASHER.hash("gatepass-timing-equaliser")


@dataclass(frozen=True)
class InstanceKeys:
    digest_key: bytes
    csrf_key: bytes
    session_key: bytes
    _fernet: Fernet

    @classmethod
    def from_secret(cls, instance_secret: bytes) -> InstanceKeys:
        encryption_key = base64.urlsafe_b64encode(derive_key(instance_secret, "encryption"))
        return cls(
            digest_key=derive_key(instance_secret, "token-digest"),
            csrf_key=derive_key(instance_secret, "csrf"),
            session_key=derive_key(instance_secret, "session"),
            _fernet=Fernet(encryption_key),
        )

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode()
        except InvalidToken:
            raise ValueError("cannot decrypt: was the instance secret changed?") from None


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow; keep it off the event loop.
    return await anyio.to_thread.run_sync(_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _HASHER.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(_verify)
