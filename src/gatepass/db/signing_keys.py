"""The keys that sign id_tokens, published in the JWKS, with their private halves encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, select, update

from gatepass.db.base import StoreBase
from gatepass.db.driver import DriverStatement
from gatepass.db.tables import SigningKey
from gatepass.services.stores import SigningKeyRecord

_keys: Table = SigningKey.__table__  # type: ignore[assignment]
#: Read for every id_token and JWKS; with the read cache off (PostgreSQL without Redis), every time.
_ALL_KEYS = DriverStatement(
    select(
        _keys.c.kid,
        _keys.c.alg,
        _keys.c.public_jwk,
        _keys.c.private_jwk_encrypted,
        _keys.c.created_at,
        _keys.c.signs_from,
        _keys.c.retired_at,
        _keys.c.unpublish_at,
    ).order_by(_keys.c.signs_from),
    "signing keys",
)


class SqlSigningKeyStore(StoreBase):
    async def list_keys(self) -> list[SigningKeyRecord]:
        return list(await self._cache.get("signing_keys", self._load_keys) or ())

    async def _load_keys(self) -> tuple[SigningKeyRecord, ...]:
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
            for row in await self._read_all(_ALL_KEYS, {})
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
