"""Shared plumbing for the store classes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from gatepass.cache.reads import NO_CACHE, ReadCache
from gatepass.services.stores import Conflict


class StoreBase:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache: ReadCache = NO_CACHE) -> None:
        self._sessions = sessions
        self._cache = cache


def conflict_from(exc: IntegrityError, what: str) -> Conflict:
    return Conflict(f"{what} already exists")


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    engine: AsyncEngine = sessions.kw["bind"]
    return engine


@asynccontextmanager
async def single_statement(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncConnection]:
    """A connection for exactly one statement, which is atomic by itself.

    The hot paths use SQLAlchemy Core here, with statements built once: no ORM unit of work, identity
    map or attribute instrumentation per request. On PostgreSQL it runs in autocommit: no BEGIN before
    it and no ROLLBACK or COMMIT after it, two round trips fewer (asyncpg switches autocommit on the
    client side, without a round trip). The other databases keep their usual transaction, where
    autocommit would cost a round trip to switch.
    """
    async with engine_of(sessions).connect() as connection:
        is_autocommit = connection.dialect.name == "postgresql"
        if is_autocommit:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection
        if not is_autocommit:
            await connection.commit()
