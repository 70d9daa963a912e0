"""What each user allowed each client: the consent screen is skipped when it covers the request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, bindparam, delete, select

from gatepass.db import sqlite_writes
from gatepass.db.base import StoreBase
from gatepass.db.driver import DriverStatement
from gatepass.db.tables import Consent
from gatepass.services.stores import ConsentRecord

_consents: Table = Consent.__table__  # type: ignore[assignment]
#: Every authorization request of a logged-in user reads it.
_CONSENT_OF = DriverStatement(
    select(_consents.c.user_id, _consents.c.client_id, _consents.c.scopes, _consents.c.granted_at).where(
        _consents.c.user_id == bindparam("user_id"), _consents.c.client_id == bindparam("client_id")
    ),
    "consent of a user to a client",
)


class SqlConsentStore(StoreBase):
    async def get_consent(self, user_id: int, client_id: str) -> ConsentRecord | None:
        row = await self._read_one(_CONSENT_OF, {"user_id": user_id, "client_id": client_id})
        return None if row is None else ConsentRecord(row.user_id, row.client_id, tuple(row.scopes), row.granted_at)

    async def save_consent(self, user_id: int, client_id: str, scopes: tuple[str, ...], now: datetime) -> None:
        if self._sqlite_writer is not None:
            await self._sqlite_writer.write(sqlite_writes.save_consent(user_id, client_id, scopes, now))
            return
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
