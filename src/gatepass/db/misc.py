"""Consents, runtime settings, signing keys and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatepass.db import sqlite_writes
from gatepass.db.base import StoreBase, single_statement
from gatepass.db.sqlite_writer import SqliteWriter
from gatepass.db.tables import AuditEvent, Consent, RuntimeSetting, SigningKey
from gatepass.services.stores import AuditRecord, ConsentRecord, SigningKeyRecord

_audit_events: Table = AuditEvent.__table__  # type: ignore[assignment]
_INSERT_AUDIT_EVENT = insert(_audit_events)


class SqlConsentStore(StoreBase):
    async def get_consent(self, user_id: int, client_id: str) -> ConsentRecord | None:
        async with self._sessions() as session:
            row = (
                await session.execute(select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id))
            ).scalar_one_or_none()
            return None if row is None else ConsentRecord(row.user_id, row.client_id, tuple(row.scopes), row.granted_at)

    async def save_consent(self, user_id: int, client_id: str, scopes: tuple[str, ...], now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id).with_for_update()
                )
            ).scalar_one_or_none()
            if row is None:
                session.add(
                    Consent(user_id=user_id, client_id=client_id, scopes=list(scopes), granted_at=now, updated_at=now)
                )
            else:
                row.scopes = sorted(set(row.scopes) | set(scopes))
                row.updated_at = now

    async def delete_consent(self, user_id: int, client_id: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id))

    async def delete_consents_of(self, user_id: int) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(Consent).where(Consent.user_id == user_id))


class SqlSettingsStore(StoreBase):
    async def get_runtime_settings(self) -> dict[str, Any]:
        cached = await self._cache.get("runtime_settings", self._load_runtime_settings)
        return dict(cached or {})

    async def _load_runtime_settings(self) -> dict[str, Any]:
        async with self._sessions() as session:
            rows = (await session.execute(select(RuntimeSetting))).scalars()
            return {row.key: row.value.get("value") for row in rows}

    async def set_runtime_setting(self, key: str, value: Any, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(RuntimeSetting, key, with_for_update=True)
            if row is None:
                session.add(RuntimeSetting(key=key, value={"value": value}, updated_at=now))
            else:
                row.value = {"value": value}
                row.updated_at = now


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


class SqlAuditStore(StoreBase):
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, sqlite_writer: SqliteWriter | None = None
    ) -> None:
        super().__init__(sessions)
        #: On a SQLite file, events go to the process's group-commit writer, beside the tokens they tell of.
        self._sqlite_writer = sqlite_writer

    async def add_event(self, event: AuditRecord) -> None:
        if self._sqlite_writer is not None:
            await self._sqlite_writer.write(sqlite_writes.add_audit_event(event))
            return
        # Core and one statement: every token issued writes an event, so this is on the hot path.
        async with single_statement(self._sessions) as connection:
            await connection.execute(
                _INSERT_AUDIT_EVENT,
                {
                    "at": event.at,
                    "event": event.event,
                    "user_id": event.user_id,
                    "client_id": event.client_id,
                    "ip": event.ip,
                    "detail": event.detail,
                },
            )

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
