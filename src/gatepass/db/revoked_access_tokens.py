"""The jti of JWT access tokens (RFC 9068) revoked before their expiry, kept until that expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from gatepass.cache.reads import TOKENS
from gatepass.db.base import StoreBase, single_statement
from gatepass.db.driver import DriverStatement
from gatepass.db.tables import RevokedAccessToken

_revoked: Table = RevokedAccessToken.__table__  # type: ignore[assignment]
#: Every request with a client-credentials JWT reads it (cached: the answer, either way, is a value).
_REVOKED_BY_DIGEST = DriverStatement(
    select(_revoked.c.id).where(_revoked.c.jti_digest == bindparam("digest")), "revoked access token jti by digest"
)


class SqlRevokedAccessTokenStore(StoreBase):
    async def revoke_jti(self, jti_digest: str, expires_at: datetime) -> None:
        """Listed once; revoking it again changes nothing (the unique key refuses the second insert)."""
        try:
            async with single_statement(self._engine) as connection:
                await connection.execute(insert(_revoked).values(jti_digest=jti_digest, expires_at=expires_at))
        except IntegrityError:
            return

    async def is_jti_revoked(self, jti_digest: str) -> bool:
        revoked = await self._cache.get(("revoked_jti", jti_digest), lambda: self._load(jti_digest), group=TOKENS)
        return bool(revoked)

    async def _load(self, jti_digest: str) -> bool:
        return await self._read_one(_REVOKED_BY_DIGEST, {"digest": jti_digest}) is not None

    async def purge_expired(self, now: datetime) -> int:
        async with single_statement(self._engine) as connection:
            result = await connection.execute(delete(_revoked).where(_revoked.c.expires_at <= now))
            return int(result.rowcount)
