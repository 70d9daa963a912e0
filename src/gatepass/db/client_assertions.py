"""The jti of client assertions already accepted (RFC 7523 §3), kept until the assertion expires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, delete, insert
from sqlalchemy.exc import IntegrityError

from gatepass.db.base import StoreBase, single_statement
from gatepass.db.tables import UsedClientAssertion

_used: Table = UsedClientAssertion.__table__  # type: ignore[assignment]


class SqlClientAssertionStore(StoreBase):
    async def use_assertion(self, client_id: str, jti_digest: str, expires_at: datetime) -> bool:
        """Whether this caller is the first to use it: the unique key refuses every later insert, on
        any worker, as long as the row lives."""
        values = {"client_id": client_id, "jti_digest": jti_digest, "expires_at": expires_at}
        try:
            async with single_statement(self._engine) as connection:
                await connection.execute(insert(_used).values(values))
        except IntegrityError:
            return False
        return True

    async def purge_expired(self, now: datetime) -> int:
        async with single_statement(self._engine) as connection:
            result = await connection.execute(delete(_used).where(_used.c.expires_at <= now))
            return int(result.rowcount)
