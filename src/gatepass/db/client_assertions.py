"""The jti of client assertions already accepted (RFC 7523 §3), kept until the assertion expires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table

from gatepass.db.base import InsertOnce, StoreBase
from gatepass.db.tables import UsedClientAssertion

_used: Table = UsedClientAssertion.__table__  # type: ignore[assignment]
_USE_ASSERTION = InsertOnce(_used, ("client_id", "jti_digest", "expires_at"), "used client assertion")


class SqlClientAssertionStore(StoreBase):
    async def use_assertion(self, client_id: str, jti_digest: str, expires_at: datetime) -> bool:
        """Whether this caller is the first to use it: the unique key refuses every later insert, on
        any worker, as long as the row lives."""
        return await self._insert_once(
            _USE_ASSERTION, {"client_id": client_id, "jti_digest": jti_digest, "expires_at": expires_at}
        )

    async def purge_expired(self, now: datetime) -> int:
        return await self._delete_expired(_used, now)
