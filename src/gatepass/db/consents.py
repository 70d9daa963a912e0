"""What each user allowed each client: the consent screen is skipped when it covers the request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from gatepass.db.base import StoreBase
from gatepass.db.tables import Consent
from gatepass.services.stores import ConsentRecord


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
