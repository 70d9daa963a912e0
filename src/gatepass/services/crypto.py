"""Keys derived from the instance secret, one per purpose, and password hashing."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken

from gatepass.protocol.tokens import derive_key


@dataclass(frozen=True)
class PasswordCheck:
    is_valid: bool
    #: A valid password whose stored hash was made with other parameters: hash it again now.
    needs_rehash: bool = False


#: passlib's pbkdf2_sha256 (``$pbkdf2-sha256$ROUNDS$SALT$CHECKSUM``), one of the two schemes of Frappe's
#: password CryptContext; the other, argon2, argon2-cffi reads as it is.
PBKDF2_SHA256_PREFIX = "$pbkdf2-sha256$"
#: Hashes made elsewhere that a login can check and then replace with argon2id.
ADOPTABLE_HASH_PREFIXES = (PBKDF2_SHA256_PREFIX, "$argon2id$", "$argon2i$")


def _ab64_decode(text: str) -> bytes:
    """passlib's "adapted base64": ``.`` for ``+``, no padding."""
    text = text.replace(".", "+")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def check_pbkdf2_sha256(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches a passlib pbkdf2_sha256 hash; False for a malformed hash."""
    try:
        rounds_text, salt_text, checksum_text = password_hash.removeprefix(PBKDF2_SHA256_PREFIX).split("$")
        rounds, salt, expected = int(rounds_text), _ab64_decode(salt_text), _ab64_decode(checksum_text)
    except ValueError:
        return False
    if not 1 <= rounds <= 10_000_000 or len(expected) != 32:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)
    return hmac.compare_digest(actual, expected)


@functools.cache
def _hashing_threads(count: int) -> ThreadPoolExecutor:
    """The threads every password hash and check in this process runs on (see Passwords.threads).

    Each argon2 call holds `memory_kib` of memory and a core for its whole run, outside the GIL.
    More calls at once than cores only makes each one slower and multiplies the memory; a burst
    of logins waits here in order instead of taking anyio's or asyncio's shared threads (up to
    40 and 32), which file responses and DNS lookups also need.
    """
    return ThreadPoolExecutor(max_workers=count, thread_name_prefix="argon2")


def hashing_threads_per_process(processes: int) -> int:
    """The node's cores shared between its ``processes`` (the server's workers), at least one each, at most four.

    A thread that has hashed keeps its argon2 memory in its allocator's arena for good (glibc raises its
    threshold for mapping big blocks apart to their size once one was freed): 19 MiB per thread by default.
    Two workers on two cores with two threads each held 38 MiB more per worker and logged no one in faster.
    """
    return max(1, min(4, (os.cpu_count() or 1) // max(1, processes)))


@dataclass(frozen=True)
class Passwords:
    """argon2id with the configured cost (security.password_hash_* settings).

    The defaults are OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
    """

    memory_kib: int = 19456
    time_cost: int = 2
    parallelism: int = 1
    #: How many hashes and checks this process runs at once (hashing_threads_per_process).
    threads: int = field(default_factory=lambda: hashing_threads_per_process(1))
    _hasher: PasswordHasher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hasher = PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_kib, parallelism=self.parallelism, type=Type.ID
        )
        object.__setattr__(self, "_hasher", hasher)

    @functools.cached_property
    def _dummy_hash(self) -> str:
        """Checking against this when the email is unknown costs what a wrong password costs (no timing oracle).

        Made with the current parameters on first use, not at construction: every CLI call builds the app.
        """
        return self._hasher.hash("gatepass-timing-equaliser")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_hashing_threads(self.threads), self._hasher.hash, password)

    async def check(self, password_hash: str | None, password: str) -> PasswordCheck:
        """Check a password against its stored hash; None (no such user, no password) checks a dummy and fails."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_hashing_threads(self.threads), self._check, password_hash, password)

    def _check(self, password_hash: str | None, password: str) -> PasswordCheck:
        # Made (once) before any check, known email or not: the first of either costs the same too.
        dummy_hash = self._dummy_hash
        if password_hash is not None and password_hash.startswith(PBKDF2_SHA256_PREFIX):
            # Imported from Frappe: kept only until its owner's first login hashes the password with argon2id.
            is_valid = check_pbkdf2_sha256(password_hash, password)
            return PasswordCheck(is_valid, needs_rehash=is_valid)
        try:
            self._hasher.verify(password_hash or dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return PasswordCheck(False)
        if password_hash is None:
            return PasswordCheck(False)
        return PasswordCheck(True, needs_rehash=self._hasher.check_needs_rehash(password_hash))


@dataclass(frozen=True)
class InstanceKeys:
    digest_key: bytes
    csrf_key: bytes
    session_key: bytes
    #: Keys the pairwise ``sub`` of each sector (services/subjects.py).
    pairwise_key: bytes
    _fernet: Fernet
    #: Seals what the browser carries for the server between requests, apart from the secrets at rest.
    _sealing_fernet: Fernet

    @classmethod
    def from_secret(cls, instance_secret: bytes) -> InstanceKeys:
        encryption_key = base64.urlsafe_b64encode(derive_key(instance_secret, "encryption"))
        sealing_key = base64.urlsafe_b64encode(derive_key(instance_secret, "browser-sealing"))
        return cls(
            digest_key=derive_key(instance_secret, "token-digest"),
            csrf_key=derive_key(instance_secret, "csrf"),
            session_key=derive_key(instance_secret, "session"),
            pairwise_key=derive_key(instance_secret, "pairwise-subject"),
            _fernet=Fernet(encryption_key),
            _sealing_fernet=Fernet(sealing_key),
        )

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode()
        except InvalidToken:
            raise ValueError("cannot decrypt: was the instance secret changed?") from None

    def seal(self, plaintext: str, now: datetime) -> str:
        """``plaintext`` encrypted and authenticated for a round trip through the browser, stamped ``now``."""
        return self._sealing_fernet.encrypt_at_time(plaintext.encode(), int(now.timestamp())).decode("ascii")

    def unseal(self, sealed: str, now: datetime, *, max_age_seconds: int) -> str:
        """What ``seal`` sealed at most ``max_age_seconds`` before ``now``; ValueError if forged, altered or older."""
        try:
            return self._sealing_fernet.decrypt_at_time(
                sealed.encode("ascii"), max_age_seconds, int(now.timestamp())
            ).decode()
        except (InvalidToken, UnicodeError):
            raise ValueError("not sealed by this server, altered, or expired") from None
