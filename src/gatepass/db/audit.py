"""The audit log: one row per named event (services/audit.py), written on the hot path of every issuance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select

from gatepass.db import sqlite_writes
from gatepass.db.base import StoreBase, single_statement
from gatepass.db.driver import DriverStatement
from gatepass.db.tables import AuditEvent
from gatepass.services.stores import AuditRecord

_audit_events: Table = AuditEvent.__table__  # type: ignore[assignment]
AUDIT_COLUMNS = ("at", "event", "user_id", "client_id", "ip", "detail")
_INSERT_AUDIT_EVENT = DriverStatement(
    insert(_audit_events).values({name: bindparam(name) for name in AUDIT_COLUMNS}), "audit event"
)


def audit_event_row(event: AuditRecord) -> dict[str, Any]:
    """The row of an audit event, by column (the token store writes an issuance's event with its grant)."""
    return {
        "at": event.at,
        "event": event.event,
        "user_id": event.user_id,
        "client_id": event.client_id,
        "ip": event.ip,
        "detail": event.detail,
    }


class SqlAuditStore(StoreBase):
    async def add_event(self, event: AuditRecord) -> None:
        if self._sqlite_writer is not None:
            await self._sqlite_writer.write(sqlite_writes.add_audit_event(event))
            return
        # One statement: events are written on hot paths (logins, refreshes, revocations).
        row = audit_event_row(event)
        if self._driver_pool is not None:
            await _INSERT_AUDIT_EVENT.execute(self._driver_pool, row)
            return
        async with single_statement(self._engine) as connection:
            await connection.execute(_INSERT_AUDIT_EVENT.statement, row)

    async def list_events(
        self,
        *,
        limit: int = 100,
        event: str | None = None,
        user_id: int | None = None,
        client_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditRecord]:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if event:
            query = query.where(AuditEvent.event == event)
        if user_id is not None:
            query = query.where(AuditEvent.user_id == user_id)
        if client_id:
            query = query.where(AuditEvent.client_id == client_id)
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        if until is not None:
            query = query.where(AuditEvent.at < until)
        async with self._sessions() as session:
            rows = (await session.execute(query)).scalars()
            return [AuditRecord(row.at, row.event, row.user_id, row.client_id, row.ip, row.detail) for row in rows]

    async def list_event_names(self) -> list[str]:
        async with self._sessions() as session:
            rows = await session.execute(select(AuditEvent.event).distinct().order_by(AuditEvent.event))
            return [str(name) for name in rows.scalars()]
