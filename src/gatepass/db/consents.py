"""What each user allowed each client: the consent screen is skipped when it covers the request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, bindparam, delete, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

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


#: PostgreSQL: a consent or its widening by more scopes in one statement, which two first consents at once
#: cannot both insert (the second widens what the first wrote).
_UPSERT_CONSENT_ON_POSTGRESQL = DriverStatement(
    text(
        "INSERT INTO consents (user_id, client_id, scopes, granted_at, updated_at)"
        " VALUES (:user_id, :client_id, :scopes, :now, :now)"
        " ON CONFLICT (user_id, client_id) DO UPDATE SET"
        " scopes = (SELECT to_json(array_agg(scope ORDER BY scope)) FROM"
        " (SELECT json_array_elements_text(consents.scopes) UNION"
        " SELECT json_array_elements_text(EXCLUDED.scopes)) AS held(scope)),"
        " updated_at = EXCLUDED.updated_at"
    )
    .bindparams(
        bindparam("scopes", type_=_consents.c.scopes.type),
        bindparam("now", type_=_consents.c.granted_at.type),
        bindparam("user_id", type_=_consents.c.user_id.type),
        bindparam("client_id", type_=_consents.c.client_id.type),
    )
    .columns(),
    "consent, or its widening",
)


_CONSENT_ATTEMPTS = 3
#: MariaDB's "Deadlock found when trying to get lock; try restarting transaction".
_MARIADB_DEADLOCK = 1213


def _lost_a_race(error: IntegrityError | OperationalError) -> bool:
    if isinstance(error, IntegrityError):
        return True
    code = getattr(error.orig, "args", (None,))[0]
    return code == _MARIADB_DEADLOCK


class SqlConsentStore(StoreBase):
    async def get_consent(self, user_id: int, client_id: str) -> ConsentRecord | None:
        row = await self._read_one(_CONSENT_OF, {"user_id": user_id, "client_id": client_id})
        return None if row is None else ConsentRecord(row.user_id, row.client_id, tuple(row.scopes), row.granted_at)

    async def save_consent(self, user_id: int, client_id: str, scopes: tuple[str, ...], now: datetime) -> None:
        if self._sqlite_writer is not None:
            await self._sqlite_writer.write(sqlite_writes.save_consent(user_id, client_id, scopes, now))
            return
        if self._driver_pool is not None and self._driver_pool.backend == "postgresql":
            parameters = {"user_id": user_id, "client_id": client_id, "scopes": list(scopes), "now": now}
            await _UPSERT_CONSENT_ON_POSTGRESQL.execute(self._driver_pool, parameters)
            return
        # MariaDB: two first consents at once both find no row; one insert then fails (a duplicate, or InnoDB
        # calls the two gap locks a deadlock) and its transaction is rolled back. Tried again, it finds the row.
        for attempt in range(_CONSENT_ATTEMPTS):
            try:
                await self._save_consent_in_transaction(user_id, client_id, scopes, now)
                return
            except (IntegrityError, OperationalError) as error:
                if attempt == _CONSENT_ATTEMPTS - 1 or not _lost_a_race(error):
                    raise

    async def _save_consent_in_transaction(
        self, user_id: int, client_id: str, scopes: tuple[str, ...], now: datetime
    ) -> None:
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
