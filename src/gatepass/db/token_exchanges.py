"""Token exchange (RFC 8693): the admin's policies, and the exchange record of each grant it issued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from gatepass.cache.reads import TOKENS
from gatepass.db.base import StoreBase, conflict_from, single_statement
from gatepass.db.driver import DriverStatement
from gatepass.db.tables import TokenExchange, TokenExchangePolicy
from gatepass.protocol.rfc8693_token_exchange import ExchangePolicy
from gatepass.services.oauth.exchange_policies import ExchangeRecord

_policies: Table = TokenExchangePolicy.__table__  # type: ignore[assignment]
_exchanges: Table = TokenExchange.__table__  # type: ignore[assignment]
_POLICY_COLUMNS = (
    _policies.c.client_id,
    _policies.c.audience,
    _policies.c.subject_token_types,
    _policies.c.subject_client_ids,
    _policies.c.actor_client_ids,
    _policies.c.allow_impersonation,
    _policies.c.scopes,
)
_ALL_POLICIES = select(*_POLICY_COLUMNS).order_by(_policies.c.client_id, _policies.c.audience)
_POLICIES_OF = select(*_POLICY_COLUMNS).where(_policies.c.client_id == bindparam("client_id"))
_EXCHANGE_OF = DriverStatement(
    select(
        _exchanges.c.grant_id, _exchanges.c.subject_token_type, _exchanges.c.subject_client_id, _exchanges.c.act
    ).where(_exchanges.c.grant_id == bindparam("grant_id")),
    "token exchange of a grant",
)


def _policy(row: Any) -> ExchangePolicy:
    return ExchangePolicy(
        client_id=row.client_id,
        audience=row.audience,
        subject_token_types=tuple(row.subject_token_types),
        subject_client_ids=tuple(row.subject_client_ids),
        actor_client_ids=tuple(row.actor_client_ids),
        allow_impersonation=bool(row.allow_impersonation),
        scopes=tuple(row.scopes),
    )


class SqlTokenExchangeStore(StoreBase):
    async def policies_of(self, client_id: str) -> list[ExchangePolicy]:
        async with single_statement(self._engine) as connection:
            rows = (await connection.execute(_POLICIES_OF, {"client_id": client_id})).all()
        return [_policy(row) for row in rows]

    async def list_policies(self) -> list[ExchangePolicy]:
        async with single_statement(self._engine) as connection:
            rows = (await connection.execute(_ALL_POLICIES)).all()
        return [_policy(row) for row in rows]

    async def add_policy(self, policy: ExchangePolicy, now: datetime) -> None:
        values = {
            "client_id": policy.client_id,
            "audience": policy.audience,
            "subject_token_types": list(policy.subject_token_types),
            "subject_client_ids": list(policy.subject_client_ids),
            "actor_client_ids": list(policy.actor_client_ids),
            "allow_impersonation": policy.allow_impersonation,
            "scopes": list(policy.scopes),
            "created_at": now,
        }
        try:
            async with single_statement(self._engine) as connection:
                await connection.execute(insert(_policies).values(values))
        except IntegrityError as exc:
            raise conflict_from(exc, f"A policy of client '{policy.client_id}' for '{policy.audience}'") from None

    async def remove_policy(self, client_id: str, audience: str) -> bool:
        async with single_statement(self._engine) as connection:
            result = await connection.execute(
                delete(_policies).where(_policies.c.client_id == client_id, _policies.c.audience == audience)
            )
            return bool(result.rowcount == 1)

    async def add_exchange(self, record: ExchangeRecord, now: datetime) -> None:
        values = {
            "grant_id": record.grant_id,
            "subject_token_type": record.subject_token_type,
            "subject_client_id": record.subject_client_id,
            "act": dict(record.act) if record.act is not None else None,
            "created_at": now,
        }
        async with single_statement(self._engine) as connection:
            await connection.execute(insert(_exchanges).values(values))

    async def get_exchange(self, grant_id: int) -> ExchangeRecord | None:
        # Kept for any grant, exchanged or not (a 1-tuple holds the None), so introspecting an ordinary token
        # costs no query once seen; a grant's record is written before its token is handed out and never changes.
        found = await self._cache.get(("token_exchange", grant_id), lambda: self._load_exchange(grant_id), group=TOKENS)
        return found[0] if found is not None else None

    async def _load_exchange(self, grant_id: int) -> tuple[ExchangeRecord | None]:
        row = await self._read_one(_EXCHANGE_OF, {"grant_id": grant_id})
        if row is None:
            return (None,)
        return (ExchangeRecord(grant_id=row[0], subject_token_type=row[1], subject_client_id=row[2], act=row[3]),)
