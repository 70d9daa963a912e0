"""Shared plumbing for the store classes."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from gatepass.cache.reads import NO_CACHE, ReadCache
from gatepass.db.driver import DriverConnections, DriverStatement
from gatepass.db.sqlite_writer import SqliteWriter
from gatepass.services.stores import Conflict


@dataclass(frozen=True)
class Database:
    """One database as the stores reach it: the engine, its session factory, on a SQLite file the
    process's group-commit writer (db/sqlite_writer.py), and where the hot statements run past
    SQLAlchemy: the worker's asyncpg or aiomysql connections on PostgreSQL and MariaDB
    (db/driver.py), the reader thread on a SQLite file (db/sqlite_reader.py)."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    sqlite_writer: SqliteWriter | None = None
    driver_pool: DriverConnections | None = None

    @classmethod
    def of(
        cls,
        engine: AsyncEngine,
        sqlite_writer: SqliteWriter | None = None,
        driver_pool: DriverConnections | None = None,
    ) -> Database:
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False), sqlite_writer, driver_pool)


@dataclass(frozen=True)
class WriteOutcome:
    #: The new row's id (an INSERT's), and how many rows the statement changed.
    row_id: int | None
    row_count: int


class StoreBase:
    def __init__(self, database: Database, cache: ReadCache = NO_CACHE) -> None:
        self._engine = database.engine
        self._sessions = database.sessions
        #: On a SQLite file, the stores whose writes are hot send them to this writer.
        self._sqlite_writer = database.sqlite_writer
        #: The stores' hot reads run here (and on PostgreSQL and MariaDB some hot writes).
        self._driver_pool = database.driver_pool
        self._cache = cache

    async def _read_one(self, lookup: DriverStatement, parameters: Mapping[str, Any]) -> Any:
        """One row of a named lookup (or None): on the driver where there is one, else through SQLAlchemy."""
        if self._driver_pool is not None:
            return await lookup.fetch_one(self._driver_pool, parameters)
        async with single_statement(self._engine) as connection:
            return (await connection.execute(lookup.statement, parameters)).one_or_none()

    async def _write_on_sqlite(
        self, statement: DriverStatement, parameters: Mapping[str, Any], *, changes: frozenset[str] = frozenset()
    ) -> WriteOutcome:
        """A named write in the SQLite writer's group commit (only where there is a writer: a SQLite file)."""
        assert self._sqlite_writer is not None
        sql, values = statement.bound(self._engine.dialect, parameters)

        def work(connection: sqlite3.Connection) -> WriteOutcome:
            cursor = connection.execute(sql, values)
            return WriteOutcome(cursor.lastrowid, cursor.rowcount)

        return await self._sqlite_writer.write(work, changes=changes)

    async def _insert_once(self, statement: DriverStatement, values: Mapping[str, Any]) -> bool:
        """Whether this insert was the first of its unique key: of two workers inserting the same one, the one
        whose insert conflicts gets False. On a SQLite file it joins the writer's group commit; on PostgreSQL and
        MariaDB it is one statement on the worker's driver connections."""
        try:
            if self._sqlite_writer is not None:
                await self._write_on_sqlite(statement, values)
            elif self._driver_pool is not None:
                await statement.execute(self._driver_pool, values)
            else:
                async with single_statement(self._engine) as connection:
                    await connection.execute(statement.statement, values)
        except IntegrityError:
            return False
        except Exception as exc:
            if _is_duplicate_key(exc):
                return False
            raise
        return True

    async def _delete_expired(self, table: Table, now: datetime) -> int:
        """Delete the rows of ``table`` whose ``expires_at`` has passed; returns how many."""
        async with single_statement(self._engine) as connection:
            result = await connection.execute(delete(table).where(table.c.expires_at <= now))
            return int(result.rowcount)

    async def _read_all(self, lookup: DriverStatement, parameters: Mapping[str, Any]) -> list[Any]:
        if self._driver_pool is not None:
            return await lookup.fetch_all(self._driver_pool, parameters)
        async with single_statement(self._engine) as connection:
            return list((await connection.execute(lookup.statement, parameters)).all())


#: The drivers' own words for a duplicate key: asyncpg's SQLSTATE (unique_violation), MariaDB's error number.
_UNIQUE_VIOLATION_SQLSTATE = "23505"
_MARIADB_DUPLICATE_ENTRY = 1062


def _is_duplicate_key(exc: Exception) -> bool:
    """A unique key refused an insert on a driver connection (the driver's error, bare or wrapped as ``orig``)."""
    error = getattr(exc, "orig", None) or exc
    if getattr(error, "sqlstate", None) == _UNIQUE_VIOLATION_SQLSTATE:
        return True
    return bool(error.args) and error.args[0] == _MARIADB_DUPLICATE_ENTRY


def conflict_from(exc: IntegrityError, what: str) -> Conflict:
    return Conflict(f"{what} already exists")


@asynccontextmanager
async def single_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for exactly one statement, which is atomic by itself.

    The hot paths use SQLAlchemy Core here, with statements built once: no ORM unit of work, identity
    map or attribute instrumentation per request. On PostgreSQL it runs in autocommit: no BEGIN before
    it and no ROLLBACK or COMMIT after it, two round trips fewer (asyncpg switches autocommit on the
    client side, without a round trip). The other databases keep their usual transaction, where
    autocommit would cost a round trip to switch.
    """
    async with engine.connect() as connection:
        is_autocommit = connection.dialect.name == "postgresql"
        if is_autocommit:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection
        if not is_autocommit:
            await connection.commit()
