"""The keys that sign id_tokens, published in the JWKS, with their private halves encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from gatepass.db.base import StoreBase
from gatepass.db.tables import SigningKey
from gatepass.services.stores import SigningKeyRecord


class SqlSigningKeyStore(StoreBase):
    async def list_keys(self) -> list[SigningKeyRecord]:
        return list(await self._cache.get("signing_keys", self._load_keys) or ())

    async def _load_keys(self) -> tuple[SigningKeyRecord, ...]:
        async with self._sessions() as session:
            rows = (await session.execute(select(SigningKey).order_by(SigningKey.signs_from))).scalars()
            return tuple(
                SigningKeyRecord(
                    row.kid,
                    row.alg,
                    row.public_jwk,
                    row.private_jwk_encrypted,
                    row.created_at,
                    row.signs_from,
                    row.retired_at,
                    row.unpublish_at,
                )
                for row in rows
            )

    async def add_key(self, key: SigningKeyRecord) -> None:
        async with self._sessions() as session, session.begin():
            session.add(
                SigningKey(
                    kid=key.kid,
                    alg=key.alg,
                    public_jwk=key.public_jwk,
                    private_jwk_encrypted=key.private_jwk_encrypted,
                    created_at=key.created_at,
                    signs_from=key.signs_from,
                    retired_at=key.retired_at,
                    unpublish_at=key.unpublish_at,
                )
            )

    async def retire_keys_except(self, kids: set[str], alg: str, now: datetime, unpublish_at: datetime) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(SigningKey)
                .where(SigningKey.kid.not_in(kids), SigningKey.alg == alg, SigningKey.retired_at.is_(None))
                .values(retired_at=now, unpublish_at=unpublish_at)
            )
