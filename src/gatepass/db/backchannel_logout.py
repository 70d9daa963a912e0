"""Back-channel logout: which clients took part in which login session, and the logout tokens to deliver.

A delivery is claimed by one conditional UPDATE (``claimed_until`` moved forward only where it had
passed), the same statement on SQLite, PostgreSQL and MariaDB: of workers racing for a row, the one
whose UPDATE changed it sends the token; a worker that dies mid-send leaves the claim to lapse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from gatepass.db.base import StoreBase, single_statement
from gatepass.db.tables import BackchannelLogoutDelivery, LogoutSessionClient, OAuthClient, TokenGrant
from gatepass.services.stores import LogoutDeliveryRecord, LogoutParticipant

_participants: Table = LogoutSessionClient.__table__  # type: ignore[assignment]
_deliveries: Table = BackchannelLogoutDelivery.__table__  # type: ignore[assignment]
_clients: Table = OAuthClient.__table__  # type: ignore[assignment]
_grants: Table = TokenGrant.__table__  # type: ignore[assignment]


class SqlBackchannelLogoutStore(StoreBase):
    async def add_participant(self, sid: str, user_id: int, client_id: str, expires_at: datetime) -> None:
        """Once per session and client: a second authorization in the same session writes nothing."""
        async with single_statement(self._engine) as connection:
            known = await connection.execute(
                select(_participants.c.id).where(_participants.c.sid == sid, _participants.c.client_id == client_id)
            )
            if known.first() is not None:
                return
        try:
            async with single_statement(self._engine) as connection:
                await connection.execute(
                    insert(_participants).values(sid=sid, user_id=user_id, client_id=client_id, expires_at=expires_at)
                )
        except IntegrityError:
            return  # the same session authorized the same client on another worker meanwhile

    async def list_participants(self, user_id: int, sid: str | None, now: datetime) -> list[LogoutParticipant]:
        """The clients with a logout URI that took part in session ``sid`` of the user (every session of
        the user when None), and when every session ends also those holding a live grant of the user."""
        session_rows = select(_participants.c.client_id, _participants.c.sid).where(
            _participants.c.user_id == user_id, _participants.c.expires_at > now
        )
        if sid is not None:
            session_rows = session_rows.where(_participants.c.sid == sid)
        grant_rows = select(_grants.c.client_id).where(
            _grants.c.user_id == user_id, _grants.c.revoked_at.is_(None), _grants.c.expires_at > now
        )
        clients = select(_clients.c.client_id, _clients.c.backchannel_logout_session_required).where(
            _clients.c.backchannel_logout_uri.is_not(None), _clients.c.is_enabled.is_(True)
        )
        async with single_statement(self._engine) as connection:
            sessions_by_client: dict[str, list[str]] = {}
            for client_id, session_id in (await connection.execute(session_rows)).all():
                sessions_by_client.setdefault(client_id, []).append(session_id)
            if sid is None:
                for (client_id,) in (await connection.execute(grant_rows.distinct())).all():
                    sessions_by_client.setdefault(client_id, [])
            if not sessions_by_client:
                return []
            rows = (await connection.execute(clients.where(_clients.c.client_id.in_(sessions_by_client)))).all()
        return [
            LogoutParticipant(client_id, bool(is_required), tuple(sorted(sessions_by_client[client_id])))
            for client_id, is_required in sorted(rows)
        ]

    async def queue_deliveries(
        self, claims: list[tuple[str, dict[str, Any]]], user_id: int, sid: str | None, now: datetime
    ) -> None:
        """The logout tokens to send, and forgetting the sessions they end, in one transaction."""
        async with self._engine.begin() as connection:
            if claims:
                await connection.execute(
                    insert(_deliveries),
                    [
                        {
                            "client_id": client_id,
                            "claims": body,
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                        for client_id, body in claims
                    ],
                )
            ended = delete(_participants).where(_participants.c.user_id == user_id)
            await connection.execute(ended if sid is None else ended.where(_participants.c.sid == sid))

    async def list_due(self, now: datetime, limit: int) -> list[int]:
        query = (
            select(_deliveries.c.id)
            .where(_deliveries.c.next_attempt_at <= now, _is_unclaimed(now))
            .order_by(_deliveries.c.next_attempt_at)
            .limit(limit)
        )
        async with single_statement(self._engine) as connection:
            return [row[0] for row in (await connection.execute(query)).all()]

    async def claim(self, delivery_id: int, now: datetime, claimed_until: datetime) -> LogoutDeliveryRecord | None:
        """This worker's delivery to attempt, or None when another worker claimed it first."""
        async with self._engine.begin() as connection:
            claimed = await connection.execute(
                update(_deliveries)
                .where(_deliveries.c.id == delivery_id, _deliveries.c.next_attempt_at <= now, _is_unclaimed(now))
                .values(claimed_until=claimed_until, attempts=_deliveries.c.attempts + 1)
            )
            if claimed.rowcount != 1:
                return None
            row = (
                await connection.execute(
                    select(_deliveries.c.client_id, _deliveries.c.claims, _deliveries.c.attempts).where(
                        _deliveries.c.id == delivery_id
                    )
                )
            ).one()
        return LogoutDeliveryRecord(delivery_id, row.client_id, dict(row.claims), int(row.attempts))

    async def delete_delivery(self, delivery_id: int) -> None:
        async with single_statement(self._engine) as connection:
            await connection.execute(delete(_deliveries).where(_deliveries.c.id == delivery_id))

    async def retry_later(self, delivery_id: int, next_attempt_at: datetime, error: str) -> None:
        async with single_statement(self._engine) as connection:
            await connection.execute(
                update(_deliveries)
                .where(_deliveries.c.id == delivery_id)
                .values(next_attempt_at=next_attempt_at, claimed_until=None, last_error=error[:500])
            )

    async def purge_expired(self, now: datetime) -> int:
        """Sessions that would have expired by now: their logout can no longer be asked for."""
        async with single_statement(self._engine) as connection:
            result = await connection.execute(delete(_participants).where(_participants.c.expires_at <= now))
            return int(result.rowcount)


def _is_unclaimed(now: datetime) -> Any:
    return or_(_deliveries.c.claimed_until.is_(None), _deliveries.c.claimed_until <= now)
