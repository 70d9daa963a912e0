"""Signing keys: made on first start, kept encrypted in the database, rotated without breaking anyone.

Rotation publishes the new key at once, lets it sign only after a grace period (so relying
parties that cache the JWKS have fetched it), and keeps the old public key published until
every id_token it signed has expired.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gatepass.protocol.jose import ASYMMETRIC_ALGORITHMS, generate_signing_key, public_jwk
from gatepass.services.crypto import InstanceKeys
from gatepass.services.stores import SigningKeyRecord, SigningKeyStore


@dataclass(frozen=True)
class KeyState:
    kid: str
    alg: str
    state: str  # next | signing | retired
    created_at: datetime
    signs_from: datetime
    unpublish_at: datetime | None


class KeyService:
    def __init__(
        self, store: SigningKeyStore, keys: InstanceKeys, clock: Callable[[], datetime], *, id_token_ttl_seconds: int
    ) -> None:
        self._store = store
        self._keys = keys
        self._clock = clock
        self._id_token_ttl = timedelta(seconds=id_token_ttl_seconds)
        #: A kid's private key never changes, so each is decrypted once per worker, not per id_token.
        self._private_by_kid: dict[str, dict[str, Any]] = {}

    async def ensure_keys(self) -> None:
        """One key per asymmetric algorithm on first start (every worker may race; the kid differs)."""
        existing = {record.alg for record in await self._store.list_keys()}
        for alg in ASYMMETRIC_ALGORITHMS:
            if alg not in existing:
                await self._add(alg, signs_from=self._clock())

    async def _add(self, alg: str, *, signs_from: datetime) -> SigningKeyRecord:
        now = self._clock()
        kid = f"{alg.lower()}-{now.strftime('%Y%m%d')}-{secrets.token_hex(4)}"
        private = generate_signing_key(alg, kid)
        record = SigningKeyRecord(
            kid=kid,
            alg=alg,
            public_jwk=public_jwk(private),
            private_jwk_encrypted=self._keys.encrypt(json.dumps(private)),
            created_at=now,
            signs_from=signs_from,
            retired_at=None,
            unpublish_at=None,
        )
        await self._store.add_key(record)
        return record

    async def rotate(self, *, grace_seconds: int, algorithms: tuple[str, ...] = ASYMMETRIC_ALGORITHMS) -> list[str]:
        """New keys for each algorithm; they sign after the grace period. Returns the new kids."""
        now = self._clock()
        signs_from = now + timedelta(seconds=grace_seconds)
        kids = []
        for alg in algorithms:
            record = await self._add(alg, signs_from=signs_from)
            # The old keys sign until the new one takes over, then stay published while what they signed lives.
            await self._store.retire_keys_except({record.kid}, alg, signs_from, signs_from + self._id_token_ttl)
            kids.append(record.kid)
        return kids

    def _state(self, record: SigningKeyRecord, now: datetime) -> str:
        if record.signs_from > now:
            return "next"
        if record.retired_at is not None and record.retired_at <= now:
            return "retired"
        return "signing"

    async def list(self) -> list[KeyState]:
        now = self._clock()
        return [
            KeyState(r.kid, r.alg, self._state(r, now), r.created_at, r.signs_from, r.unpublish_at)
            for r in await self._store.list_keys()
        ]

    async def jwks(self) -> dict[str, Any]:
        """Every key that is published: next, signing, and retired ones whose tokens may still be valid."""
        now = self._clock()
        keys = [r.public_jwk for r in await self._store.list_keys() if r.unpublish_at is None or r.unpublish_at > now]
        return {"keys": keys}

    async def signing_key(self, alg: str) -> dict[str, Any]:
        """The private JWK that signs for ``alg`` now: the newest whose time has come."""
        now = self._clock()
        candidates = [r for r in await self._store.list_keys() if r.alg == alg and r.signs_from <= now]
        if not candidates:
            await self.ensure_keys()
            candidates = [r for r in await self._store.list_keys() if r.alg == alg and r.signs_from <= now]
        newest = max(candidates, key=lambda r: (r.signs_from, r.created_at))
        private = self._private_by_kid.get(newest.kid)
        if private is None:
            private = self._private_by_kid[newest.kid] = json.loads(self._keys.decrypt(newest.private_jwk_encrypted))
        return dict(private)
