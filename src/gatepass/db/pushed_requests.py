"""Pushed authorization requests (RFC 9126), stored under the digest of their request_uri's reference."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, bindparam, delete, insert, select, update

from gatepass.db.base import StoreBase, single_statement
from gatepass.db.tables import PushedAuthorizationRequest
from gatepass.services.stores import NewPushedRequest, PushedRequestRecord

_pushed: Table = PushedAuthorizationRequest.__table__  # type: ignore[assignment]
_BY_DIGEST = select(
    _pushed.c.id,
    _pushed.c.client_id,
    _pushed.c.parameters,
    _pushed.c.is_signed,
    _pushed.c.expires_at,
    _pushed.c.consumed_at,
).where(_pushed.c.reference_digest == bindparam("digest"))


class SqlPushedRequestStore(StoreBase):
    async def add_pushed_request(self, request: NewPushedRequest) -> None:
        values = {
            "reference_digest": request.reference_digest,
            "client_id": request.client_id,
            "parameters": dict(request.parameters),
            "is_signed": request.is_signed,
            "created_at": request.created_at,
            "expires_at": request.expires_at,
        }
        async with single_statement(self._engine) as connection:
            await connection.execute(insert(_pushed).values(values))

    async def get_pushed_request(self, reference_digest: str) -> PushedRequestRecord | None:
        async with single_statement(self._engine) as connection:
            row = (await connection.execute(_BY_DIGEST, {"digest": reference_digest})).one_or_none()
        if row is None:
            return None
        return PushedRequestRecord(
            id=row.id,
            client_id=row.client_id,
            parameters={str(name): str(value) for name, value in row.parameters.items()},
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
            is_signed=bool(row.is_signed),
        )

    async def consume_pushed_request(self, request_id: int, now: datetime, kept_until: datetime) -> bool:
        """Whether this caller used the request: one conditional UPDATE, so of parallel callers one wins."""
        async with single_statement(self._engine) as connection:
            result = await connection.execute(
                update(_pushed)
                .where(_pushed.c.id == request_id, _pushed.c.consumed_at.is_(None))
                .values(consumed_at=now, expires_at=kept_until)
            )
            return bool(result.rowcount == 1)

    async def purge_expired(self, now: datetime) -> int:
        """Requests nobody used by their expiry, and used ones once their login and consent time is over."""
        async with single_statement(self._engine) as connection:
            result = await connection.execute(delete(_pushed).where(_pushed.c.expires_at <= now))
            return int(result.rowcount)
