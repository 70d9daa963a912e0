"""Device authorizations (RFC 8628), stored under the digests of their device and user codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from gatepass.db.base import StoreBase, conflict_from, single_statement
from gatepass.db.tables import DeviceAuthorization
from gatepass.services.oauth.stores import (
    DEVICE_APPROVED,
    DEVICE_DENIED,
    DEVICE_PENDING,
    DEVICE_USED,
    DeviceApprovalLogin,
    DeviceAuthorizationRecord,
    NewDeviceAuthorization,
)

_device: Table = DeviceAuthorization.__table__  # type: ignore[assignment]
_COLUMNS = (
    _device.c.id,
    _device.c.client_id,
    _device.c.scopes,
    _device.c.resource,
    _device.c.status,
    _device.c.user_id,
    _device.c.auth_time,
    _device.c.interval_seconds,
    _device.c.last_polled_at,
    _device.c.expires_at,
    _device.c.sid,
    _device.c.amr,
)
_BY_DEVICE_CODE = select(*_COLUMNS).where(_device.c.device_code_digest == bindparam("digest"))
_BY_USER_CODE = select(*_COLUMNS).where(_device.c.user_code_digest == bindparam("digest"))


def _record(row: Any) -> DeviceAuthorizationRecord:
    return DeviceAuthorizationRecord(
        id=row.id,
        client_id=row.client_id,
        scopes=tuple(row.scopes),
        resource=row.resource,
        status=row.status,
        user_id=row.user_id,
        auth_time=row.auth_time,
        interval_seconds=row.interval_seconds,
        last_polled_at=row.last_polled_at,
        expires_at=row.expires_at,
        sid=row.sid,
        amr=tuple(row.amr.split()) if row.amr else (),
    )


class SqlDeviceAuthorizationStore(StoreBase):
    async def add_device_authorization(self, authorization: NewDeviceAuthorization) -> int:
        values = {
            "device_code_digest": authorization.device_code_digest,
            "user_code_digest": authorization.user_code_digest,
            "client_id": authorization.client_id,
            "scopes": list(authorization.scopes),
            "resource": authorization.resource,
            "status": DEVICE_PENDING,
            "interval_seconds": authorization.interval_seconds,
            "created_at": authorization.created_at,
            "expires_at": authorization.expires_at,
        }
        try:
            async with single_statement(self._engine) as connection:
                result = await connection.execute(insert(_device).values(values).returning(_device.c.id))
                authorization_id = int(result.scalar_one())
        except IntegrityError as exc:
            raise conflict_from(exc, "A device authorization with this code") from None
        return authorization_id

    async def get_by_device_code(self, device_code_digest: str) -> DeviceAuthorizationRecord | None:
        return await self._get(_BY_DEVICE_CODE, device_code_digest)

    async def get_by_user_code(self, user_code_digest: str) -> DeviceAuthorizationRecord | None:
        return await self._get(_BY_USER_CODE, user_code_digest)

    async def decide(
        self, authorization_id: int, *, user_id: int, approve: bool, now: datetime, login: DeviceApprovalLogin
    ) -> bool:
        """One conditional UPDATE: of a user's two tabs (or two users) deciding at once, one decides."""
        return await self._change(
            update(_device)
            .where(
                _device.c.id == authorization_id,
                _device.c.status == DEVICE_PENDING,
                _device.c.expires_at > now,
            )
            .values(
                status=DEVICE_APPROVED if approve else DEVICE_DENIED,
                user_id=user_id,
                auth_time=login.auth_time,
                sid=login.sid,
                amr=" ".join(login.amr) or None,
            )
        )

    async def note_poll(
        self, authorization_id: int, *, seen_polled_at: datetime | None, now: datetime, interval_seconds: int
    ) -> bool:
        """Compare-and-set on the last poll's time: of two polls at once, one is counted, the other is too fast."""
        seen = (
            _device.c.last_polled_at.is_(None) if seen_polled_at is None else _device.c.last_polled_at == seen_polled_at
        )
        return await self._change(
            update(_device)
            .where(_device.c.id == authorization_id, seen)
            .values(last_polled_at=now, interval_seconds=interval_seconds)
        )

    async def redeem(self, authorization_id: int, now: datetime) -> bool:
        return await self._change(
            update(_device)
            .where(_device.c.id == authorization_id, _device.c.status == DEVICE_APPROVED)
            .values(status=DEVICE_USED, last_polled_at=now)
        )

    async def purge_expired(self, now: datetime) -> int:
        async with single_statement(self._engine) as connection:
            result = await connection.execute(delete(_device).where(_device.c.expires_at <= now))
            return int(result.rowcount)

    async def _get(self, statement: Any, digest: str) -> DeviceAuthorizationRecord | None:
        async with single_statement(self._engine) as connection:
            row = (await connection.execute(statement, {"digest": digest})).one_or_none()
        return None if row is None else _record(row)

    async def _change(self, statement: Any) -> bool:
        async with single_statement(self._engine) as connection:
            result = await connection.execute(statement)
            return bool(result.rowcount == 1)
