"""Shared plumbing for the store classes."""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, delete, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from gatepass.cache.reads import NO_CACHE, ReadCache
from gatepass.db.driver import DriverConnections, DriverPool, DriverStatement
from gatepass.db.sqlite_writer import SqliteWriter
from gatepass.services.stores import Conflict

T = TypeVar("T")


@dataclass(frozen=True)
class Database:
    """One database as the stores reach it: the engine, its session factory, on a SQLite file the
    process's group-commit writer (db/sqlite_writer.py), and where the hot statements run past
    SQLAlchemy: the worker's asyncpg or aiomysql connections on PostgreSQL and MariaDB
    (db/driver.py), the reader on a SQLite file (db/sqlite_reader.py)."""

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

    async def _insert_once(self, insert_once: InsertOnce, values: Mapping[str, Any]) -> bool:
        """Whether this insert was the first of its unique key: of two workers inserting the same one, the one
        whose insert conflicts gets False. On a SQLite file it joins the writer's group commit; on PostgreSQL and
        MariaDB it is one round trip on the worker's driver connections, where a conflict is no error (a replay
        sent over and over must not cost a connection each time)."""
        pool = self._driver_pool
        try:
            if self._sqlite_writer is not None:
                await self._write_on_sqlite(insert_once.plain, values)
            elif pool is not None and pool.backend == "postgresql":
                return bool((await insert_once.on_postgresql.fetch_one_grouped(pool, values)).inserted == 1)
            elif isinstance(pool, DriverPool):
                sql, bound = insert_once.ignoring.bound(pool.dialect, values)
                row = await pool.run_script(f"{sql}; SELECT ROW_COUNT();", bound)
                return row is not None and row[0] == 1
            else:
                async with single_statement(self._engine) as connection:
                    await connection.execute(insert_once.plain.statement, values)
        except IntegrityError:
            return False
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

    async def _read_as(
        self, lookup: DriverStatement, parameters: Mapping[str, Any], convert: Callable[[list[Any]], T]
    ) -> T:
        """``convert`` of a named lookup's rows; rows read before convert once (DriverStatement.fetch_all_as)."""
        if self._driver_pool is not None:
            return await lookup.fetch_all_as(self._driver_pool, parameters, convert)
        return convert(await self._read_all(lookup, parameters))

    async def _read_with_kept_tail(
        self,
        lookup: DriverStatement,
        parameters: Mapping[str, Any],
        tail_names: tuple[str, ...],
        convert_tail: Callable[[list[Any]], T],
    ) -> tuple[Any, T] | None:
        """The first row and ``convert_tail`` of every row's last columns (DriverStatement.fetch_all_with_kept_tail)."""
        if self._driver_pool is not None:
            return await lookup.fetch_all_with_kept_tail(self._driver_pool, parameters, tail_names, convert_tail)
        rows = await self._read_all(lookup, parameters)
        if not rows:
            return None
        tail = namedtuple("Tail", tail_names, rename=True)  # type: ignore[misc]
        return rows[0], convert_tail([tail._make(tuple(row)[len(row) - len(tail_names) :]) for row in rows])


class InsertOnce:
    """One row whose unique key says whether it was there before (a used jti), as each backend inserts it:
    plainly (a conflict raises), with ON CONFLICT DO NOTHING RETURNING on PostgreSQL, INSERT IGNORE on MariaDB."""

    def __init__(self, table: Table, columns: tuple[str, ...], name: str) -> None:
        values: dict[str, Any] = {column: bindparam(column) for column in columns}
        self.plain = DriverStatement(insert(table).values(values), name)
        inserted = (
            postgresql.insert(table).values(values).on_conflict_do_nothing().returning(table.c.id).cte("inserted")
        )
        #: One row whether it inserted (1) or met its key (0), so that such inserts can share a commit.
        self.on_postgresql = DriverStatement(select(func.count().label("inserted")).select_from(inserted), name)
        self.ignoring = DriverStatement(insert(table).values(values).prefix_with("IGNORE", dialect="mysql"), name)


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
