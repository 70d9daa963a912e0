"""The hot statements on the database driver itself, past SQLAlchemy's execution layer.

A single-row read through SQLAlchemy costs about 260 µs of worker CPU (engine checkout, execution
context, result objects) where asyncpg needs about 20 µs for the same round trip. A
``DriverStatement`` is a Core statement compiled once for the engine's dialect, so it is written
once, in the same terms as the rest of the store; it runs on a few driver connections of the
worker's own (``DriverPool``: asyncpg on PostgreSQL, aiomysql in autocommit on MariaDB), with the
column types' own bind and result processors applied, so it reads exactly what the SQLAlchemy
path reads. asyncpg prepares each statement once per connection and keeps it; both run it outside
any transaction: one round trip. On PostgreSQL the reads and the one-row writes that a worker's requests
make together share one round trip (``fetch_one``, ``fetch_all``, ``fetch_one_grouped``).

On a SQLite file the same statements run on the loop's own reader connection (db/sqlite_reader.py),
and its hot writes have a writer of their own (db/sqlite_writer.py).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import os
from collections import namedtuple
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable, sqltypes

Processor = Callable[[Any], Any] | None

T = TypeVar("T")
_NOT_KEPT = object()
#: Distinct row sets whose conversion a statement keeps (then it starts again): clients and users in use.
_CONVERSIONS_KEPT = 1024

#: How long a hot read waits for a connection or for its answer: as the engine's own pool does.
CONNECT_TIMEOUT_SECONDS = 5
COMMAND_TIMEOUT_SECONDS = 15

#: MariaDB's answers when two transactions stood in each other's way and this one lost: a deadlock (1213),
#: a lock wait timeout (1205), and 1467 "Failed to read auto-increment value", InnoDB's answer when the
#: deadlock it broke involved a table's AUTO-INC lock (an INSERT … SELECT holds it to the statement's end).
_MARIADB_LOST_A_LOCK_CONFLICT = frozenset({1205, 1213, 1467})
_SCRIPT_ATTEMPTS = 3

#: MariaDB's default, REPEATABLE READ, locks the gaps between index entries a write scanned, so two refreshes
#: of different grants (each revoking its grant's access tokens, then inserting one) wait on each other's
#: gaps and deadlock. READ COMMITTED locks the rows only, and is what PostgreSQL runs every store write at:
#: the writes are written for it.
MARIADB_ISOLATION_LEVEL = "READ COMMITTED"


class DriverConnections:
    """Where a DriverStatement runs: a DriverPool, or the SQLite reader (reads only).

    Subclasses run one statement in ``_read`` (``method``: fetchrow, fetch or execute, as asyncpg names them).
    """

    dialect: Dialect
    #: "postgresql", "mysql" (MariaDB) or "sqlite": what the stores may ask of it beyond the reads.
    backend: str
    #: Told which read-cache groups a write changed (the engine's writes announce themselves).
    on_change: Callable[[frozenset[str]], None] | None = None

    def announce(self, groups: frozenset[str]) -> None:
        """After a write on the driver changed rows the read cache may hold."""
        if self.on_change is not None:
            self.on_change(groups)

    async def fetch_one(self, sql: str, values: list[Any]) -> Any:
        return await self._read("fetchrow", sql, values)

    async def fetch_all(self, sql: str, values: list[Any]) -> list[Any]:
        rows: list[Any] = await self._read("fetch", sql, values)
        return rows

    async def execute(self, sql: str, values: list[Any]) -> None:
        await self._read("execute", sql, values)

    async def fetch_one_grouped(self, sql: str, values: list[Any]) -> Any:
        """A write that returns exactly one row: where writes can share a commit (DriverPool on PostgreSQL),
        with the others of its loop iteration; elsewhere alone."""
        return await self.fetch_one(sql, values)

    async def _read(self, method: str, sql: str, values: list[Any]) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class DriverPool(DriverConnections):
    """A worker's driver connections for the hot statements, made on demand, at most ``max_size``.

    asyncpg's own pool costs about 50 µs per acquire and release, more than the read itself: the
    statements here are single statements outside any transaction that leave nothing on the
    connection, so a plain list of idle connections is all the pooling they need.
    """

    def __init__(self, engine: AsyncEngine, *, max_size: int) -> None:
        self.dialect: Dialect = engine.dialect
        #: "postgresql" or "mysql" (MariaDB): what the stores may ask of it beyond single-row reads.
        self.backend = engine.dialect.name
        self._url = engine.url
        self._max_size = max_size
        self._idle: list[Any] = []
        self._in_use = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._pid = os.getpid()
        self.on_change = None
        #: fetch_one_grouped's writes not yet sent, by their SQL, and the tasks sending the others.
        self._groups: dict[str, list[tuple[list[Any], asyncio.Future[Any]]]] = {}
        self._sending: set[asyncio.Task[None]] = set()
        #: PostgreSQL's reads not yet sent, by their SQL and whether each wants its first row only.
        self._read_groups: dict[tuple[str, bool], list[tuple[list[Any], asyncio.Future[list[Any]]]]] = {}
        #: Each read's SQL as one of a group sends it: numbered rows, by the SQL (None: not a plain SELECT).
        self._numbered: dict[str, str | None] = {}

    async def fetch_one(self, sql: str, values: list[Any]) -> Any:
        if self.backend != "postgresql":
            return await super().fetch_one(sql, values)
        rows = await self._grouped_read(sql, values, one=True)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, values: list[Any]) -> list[Any]:
        if self.backend != "postgresql":
            return await super().fetch_all(sql, values)
        return await self._grouped_read(sql, values, one=False)

    async def _grouped_read(self, sql: str, values: list[Any], *, one: bool) -> list[Any]:
        """PostgreSQL: a SELECT sent with the other reads of the same statement that this loop iteration's
        requests made, in one round trip; its own rows.

        Each round trip costs the worker a send, a receive and a wake-up, and PostgreSQL a wake-up of the
        connection's backend and a Sync; under load, several requests of one worker read the same statement
        (their tokens, their clients) in the same iteration. A group is sent as one pipelined batch (asyncpg's
        ``fetchmany``), each read numbered by a column added in front, so that every request gets exactly its
        own rows, none when it found none. A read alone goes as it is. Reads change nothing, so a group the
        database refused is read again one by one, and only the read at fault fails.
        """
        numbered = self._numbered.get(sql, _NOT_NUMBERED)
        if numbered is _NOT_NUMBERED:
            if len(self._numbered) >= _NUMBERED_KEPT:  # composed statements (IN lists of every length) are many
                self._numbered.clear()
            numbered = self._numbered[sql] = _numbered_select(sql, len(values))
        if numbered is None:
            return await self._rows(sql, values, one=one)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        group = self._read_groups.get((sql, one))
        if group is None:
            group = self._read_groups[sql, one] = []
            loop.call_soon(self._send_read_group, sql, numbered, one)
        group.append((values, future))
        return await future

    def _send_read_group(self, sql: str, numbered: str, one: bool) -> None:
        group = self._read_groups.pop((sql, one))
        task = asyncio.ensure_future(self._run_read_group(sql, numbered, one, group))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _run_read_group(
        self, sql: str, numbered: str, one: bool, group: list[tuple[list[Any], asyncio.Future[list[Any]]]]
    ) -> None:
        import asyncpg

        if len(group) > 1:
            try:
                numbered_values = [[*values, index] for index, (values, _) in enumerate(group)]
                rows = await self._read("fetchmany", numbered, [numbered_values])
            except (asyncpg.PostgresError, asyncpg.DataError):
                pass  # one read's value or statement the database refused: each alone below tells whose
            except BaseException as error:  # the connection or the time ran out: for all of them alike
                _fail_all(group, error)
                return
            else:
                answers: list[list[Any]] = [[] for _ in group]
                for row in rows:
                    answers[row[0]].append(tuple(row)[1:])
                for (_, future), answer in zip(group, answers, strict=True):
                    if not future.done():  # its request went away meanwhile
                        future.set_result(answer[:1] if one else answer)
                return
        await asyncio.gather(
            *(_settle(future, functools.partial(self._rows, sql, values, one=one)) for values, future in group)
        )

    async def _rows(self, sql: str, values: list[Any], *, one: bool) -> list[Any]:
        if one:
            row = await self._read("fetchrow", sql, values)
            return [] if row is None else [row]
        rows: list[Any] = await self._read("fetch", sql, values)
        return rows

    async def _read(self, method: str, sql: str, values: list[Any]) -> Any:
        if self._pid != os.getpid():
            # A forked worker must not share its parent's sockets.
            self._idle, self._in_use, self._waiters, self._pid = [], 0, collections.deque(), os.getpid()
        if self._in_use >= self._max_size:
            await self._wait_for_a_slot()
        self._in_use += 1
        try:
            connection = await self._connection()
            try:
                if self.backend == "postgresql":
                    row = await getattr(connection, method)(sql, *values)
                else:
                    row = await _on_cursor(connection, method, sql, values)
            except BaseException:
                self._discard(connection)
                raise
            self._idle.append(connection)
            return row
        finally:
            # The slot is free whether the connection went back or was lost.
            self._in_use -= 1
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    break

    async def fetch_one_grouped(self, sql: str, values: list[Any]) -> Any:
        """PostgreSQL: a write that returns exactly one row, sent with the same statement's other writes of this
        loop iteration in one round trip and one commit (group commit); its own row.

        Each commit costs PostgreSQL a flush of its log and the worker a wake-up from that wait, and every
        issuance's insert locks the same client row (a MultiXact once several transactions share it): one
        transaction for the writes that arrived together pays these once. The statements are pipelined on one
        connection between one Sync, which PostgreSQL runs as one implicit transaction: all or nothing. So when
        the database refuses one write of a group, each is run again alone, and only the one at fault fails;
        when the connection or the time runs out, every one of them fails with that error (503, try again).
        """
        if self.backend != "postgresql":
            return await self.fetch_one(sql, values)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        group = self._groups.get(sql)
        if group is None:
            group = self._groups[sql] = []
            # At the end of this iteration: the writes of the requests that were ready together go together.
            loop.call_soon(self._send_group, sql)
        group.append((values, future))
        return await future

    def _send_group(self, sql: str) -> None:
        group = self._groups.pop(sql)
        task = asyncio.ensure_future(self._run_group(sql, group))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _run_group(self, sql: str, group: list[tuple[list[Any], asyncio.Future[Any]]]) -> None:
        import asyncpg

        if len(group) == 1:
            await self._write_alone(sql, *group[0])
            return
        try:
            rows = await self._read("fetchmany", sql, [[values for values, _ in group]])
        except asyncpg.PostgresError:
            # The database refused one of them (a constraint, say): each alone, side by side, tells whose.
            await asyncio.gather(*(self._write_alone(sql, values, future) for values, future in group))
            return
        except BaseException as error:  # the connection or the time ran out: for all of them alike
            _fail_all(group, error)
            return
        for index, (_, future) in enumerate(group):
            if future.done():  # its request went away meanwhile
                continue
            if len(rows) == len(group):
                future.set_result(rows[index])
            else:  # committed, but whose row is whose is lost: a statement that does not return one row each
                future.set_exception(AssertionError(f"a grouped write returned {len(rows)} rows for {len(group)}"))

    async def _write_alone(self, sql: str, values: list[Any], future: asyncio.Future[Any]) -> None:
        await _settle(future, functools.partial(self._read, "fetchrow", sql, values))

    async def run_script(self, sql: str, values: list[Any]) -> Any:
        """MariaDB: several statements in one round trip (a transaction and its COMMIT among them); the first
        row of the last result set. A failed script costs its connection, which rolls back what it began.

        A script that lost a lock conflict is run again, whole: it wrote nothing (its transaction was rolled
        back), and the one that won has moved on. The driver's errors are raised as SQLAlchemy's, so a
        conflict that outlasts the attempts answers 503 (try again), as a lost database does."""
        if self.backend == "postgresql":
            raise TypeError("scripts are MariaDB's way to one round trip; PostgreSQL writes with CTEs")
        import pymysql  # type: ignore[import-untyped]

        for attempt in range(1, _SCRIPT_ATTEMPTS + 1):
            try:
                return await self._read("script", sql, values)
            except pymysql.err.Error as error:
                if attempt < _SCRIPT_ATTEMPTS and error.args and error.args[0] in _MARIADB_LOST_A_LOCK_CONFLICT:
                    continue
                raise DBAPIError.instance(sql, None, error, pymysql.err.Error) from error
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _wait_for_a_slot(self) -> None:
        """Wait while every connection is in use; past the timeout, answer as a lost database would."""
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            while self._in_use >= self._max_size:
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter

    async def _connection(self) -> Any:
        """An idle connection the server has not closed meanwhile, else a new one."""
        while self._idle:
            connection = self._idle.pop()
            if not (connection.is_closed() if self.backend == "postgresql" else connection.closed):
                return connection
            # The server closed it while it sat idle (a restart, an idle timeout): the driver saw the socket end.
        return await self._connect()

    async def _connect(self) -> Any:
        url = self._url
        if self.backend == "postgresql":
            import asyncpg

            connection = await asyncpg.connect(
                url.set(drivername="postgresql").render_as_string(hide_password=False),
                timeout=CONNECT_TIMEOUT_SECONDS,
                command_timeout=COMMAND_TIMEOUT_SECONDS,
            )
            # JSON and JSONB come over as their text (asyncpg's default): DriverStatement parses it, and a row of
            # text stays hashable for fetch_all_as.
            return connection
        import aiomysql
        from pymysql.constants import CLIENT  # type: ignore[import-untyped]

        return await aiomysql.connect(
            host=url.host or "localhost",
            port=url.port or 3306,
            user=url.username,
            password=url.password or "",
            db=url.database,
            charset=str(url.query.get("charset", "utf8mb4")),
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            # Each statement commits by itself: a read holds no snapshot and a write needs no COMMIT.
            autocommit=True,
            # The hot writes are scripts of several statements in one round trip (db/mariadb_writes.py); the
            # values are escaped by the driver as for one statement.
            client_flag=CLIENT.MULTI_STATEMENTS,
            init_command=f"SET SESSION TRANSACTION ISOLATION LEVEL {MARIADB_ISOLATION_LEVEL}",
        )

    def _discard(self, connection: Any) -> None:
        """A connection whose statement failed is not trusted again (the server may have gone or cut it)."""
        if self.backend == "postgresql":
            connection.terminate()
        else:
            connection.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            if self.backend == "postgresql":
                await connection.close(timeout=CONNECT_TIMEOUT_SECONDS)
            else:
                await connection.ensure_closed()


def _fail_all(group: list[tuple[list[Any], asyncio.Future[Any]]], error: BaseException) -> None:
    """Every request of a group that is still waiting gets the error; a cancellation goes on up."""
    for _, future in group:
        if not future.done():
            future.set_exception(error)
    if not isinstance(error, Exception):
        raise error


async def _settle(future: asyncio.Future[T], run: Callable[[], Awaitable[T]]) -> None:
    """One request of a group, run alone: its own answer or its own error (unless it went away meanwhile)."""
    if future.done():
        return
    try:
        result = await run()
    except Exception as error:
        if not future.done():
            future.set_exception(error)
    else:
        if not future.done():
            future.set_result(result)


_NOT_NUMBERED: Any = object()
#: Statements whose numbered form a pool keeps (then it starts again).
_NUMBERED_KEPT = 1024


def _numbered_select(sql: str, value_count: int) -> str | None:
    """A PostgreSQL SELECT as a group sends it: its rows behind the number of the read they answer (the
    parameter after its own). None for a statement that writes (a CTE's INSERT, say) or locks rows."""
    text = sql.lstrip()
    upper = text.upper()
    if not upper.startswith("SELECT") or " FOR UPDATE" in upper or " FOR SHARE" in upper:
        return None
    # The statement is one of the store's own compiled statements, never text from a request. Its rows keep
    # their order (the roles by name, a list page by its sort): PostgreSQL never pulls a subquery with an
    # ORDER BY or LIMIT up into the outer query, and the outer query, a plain projection, scans it in order.
    return f"SELECT ${value_count + 1}::int4 AS gatepass_read, grouped_read.* FROM ({text}) AS grouped_read"  # noqa: S608


async def _on_cursor(connection: Any, method: str, sql: str, values: list[Any]) -> Any:
    """asyncpg's fetchrow / fetch / execute, on a DB-API cursor; ``script``: several statements, the last
    result set's first row."""
    async with connection.cursor() as cursor:
        await cursor.execute(sql, tuple(values))
        if method == "fetchrow":
            return await cursor.fetchone()
        if method == "fetch":
            return list(await cursor.fetchall())
        if method == "script":
            row = None
            while True:
                if cursor.description:
                    row = await cursor.fetchone()
                if not await cursor.nextset():
                    return row
        return None


def _result_processor(column: Any, dialect: Dialect) -> Processor:
    """How a column's value read on the driver becomes what SQLAlchemy would have read."""
    if dialect.name == "postgresql" and isinstance(column.type, sqltypes.JSON):
        # SQLAlchemy's asyncpg dialect has the driver parse JSON; the driver's own connections leave it as text.
        return _json_value
    return column.type.dialect_impl(dialect).result_processor(dialect, None)  # type: ignore[no-any-return]


def _json_value(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class DriverStatement:
    """One Core statement (a SELECT, or a write with or without RETURNING), compiled once, run on a DriverPool."""

    def __init__(self, statement: Any, name: str) -> None:
        self.name = name
        #: The statement itself, for the backends that run it through SQLAlchemy.
        self.statement: Executable = statement
        self._statement = statement
        #: By dialect name: the statements are module-level, and one process may serve two backends (tests do).
        self._compiled: dict[str, tuple[str, tuple[tuple[str, Processor], ...], tuple[Processor, ...]]] = {}
        #: Rows read by index or by column name, as SQLAlchemy's rows are.
        self._row: Any = namedtuple("Row", list(statement.exported_columns.keys()) or ["_"], rename=True)  # type: ignore[misc]
        #: fetch_all_as's values, by the rows they were made of.
        self._converted: dict[Any, Any] = {}
        #: fetch_all_with_kept_tail's row types, by where the tail starts.
        self._part_rows: dict[int, tuple[Any, Any]] = {}

    def _for(self, dialect: Dialect) -> tuple[str, tuple[tuple[str, Processor], ...], tuple[Processor, ...]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._statement.compile(dialect=dialect)
            # The dialect's own form of each type: a SQLite DATETIME parses text where asyncpg hands over datetimes.
            binds = tuple(
                (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                for name in compiled.positiontup or ()
            )
            results = tuple(_result_processor(column, dialect) for column in self._statement.exported_columns)
            found = self._compiled[dialect.name] = (str(compiled), binds, results)
        return found

    def bound(self, dialect: Dialect, parameters: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL for the dialect and its positional values, converted as the columns' types convert them."""
        sql, binds, _ = self._for(dialect)
        return sql, [parameters[name] if process is None else process(parameters[name]) for name, process in binds]

    async def fetch_one(self, pool: DriverConnections, parameters: Mapping[str, Any]) -> Any:
        """The one row (by index or column name), or None."""
        rows = await self._read(pool, parameters, one=True)
        return rows[0] if rows else None

    async def fetch_all(self, pool: DriverConnections, parameters: Mapping[str, Any]) -> list[Any]:
        return await self._read(pool, parameters, one=False)

    async def execute(self, pool: DriverConnections, parameters: Mapping[str, Any]) -> None:
        """A write whose rows are not wanted, in one round trip outside any transaction (atomic by itself).

        (A compiled INSERT may still say RETURNING for its primary key: what it returns is dropped.)
        """
        await self._read(pool, parameters, one=False, want_rows=False)

    async def fetch_one_grouped(self, pool: DriverConnections, parameters: Mapping[str, Any]) -> Any:
        """A write that returns exactly one row whatever its values (an INSERT … RETURNING of one row), on
        PostgreSQL: committed with the same statement's other writes of this loop iteration (DriverPool's
        fetch_one_grouped). Its row, processed."""
        sql, values = self.bound(pool.dialect, parameters)
        row = await _on_driver(pool, "fetchrow_grouped", sql, values, self.name)
        return self._processed(pool.dialect, [row])[0]

    async def fetch_all_as(
        self, pool: DriverConnections, parameters: Mapping[str, Any], convert: Callable[[list[Any]], T]
    ) -> T:
        """``convert`` (a module-level function of the rows alone) applied to the rows read.

        The database is read every time; what is kept is the conversion: rows identical to ones read before
        (a client's or a user's, read on every request when the read cache is off) give back the value they
        gave then, without their columns' processors, row objects and the store's value being made again.
        Values must be immutable, as the read cache's are.
        """
        raw = await self._raw(pool, parameters, one=False)
        return self._kept((pool.dialect.name, convert, tuple(raw)), lambda: convert(self._processed(pool.dialect, raw)))

    def _kept(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """The value kept for ``key`` (a dialect, a conversion and the raw rows it converts), else ``make()``'s,
        then kept: the most recent _CONVERSIONS_KEPT of them."""
        try:
            found = self._converted.get(key, _NOT_KEPT)
        except TypeError:  # a row with a value that cannot be hashed: converted every time
            return make()
        if found is _NOT_KEPT:
            if len(self._converted) >= _CONVERSIONS_KEPT:
                self._converted.clear()
            found = self._converted[key] = make()
        return found  # type: ignore[no-any-return]

    async def fetch_all_with_kept_tail(
        self,
        pool: DriverConnections,
        parameters: Mapping[str, Any],
        tail_names: tuple[str, ...],
        convert_tail: Callable[[list[Any]], T],
    ) -> tuple[Any, T] | None:
        """For rows that repeat one record and join another one's rows (a token with its user and their roles):
        the first row's leading columns, processed (by index or name, as fetch_one's), and ``convert_tail`` of
        every row's last ``len(tail_names)`` columns (rows named ``tail_names``). None when no row was read.

        The tail's conversion is kept as fetch_all_as keeps its values: a user's rows are the same on every one
        of their tokens, so only the token's own columns are converted on every read."""
        raw = await self._raw(pool, parameters, one=False)
        if not raw:
            return None
        results = self._for(pool.dialect)[2]
        tail_from = len(results) - len(tail_names)
        head_row, tail_row = self._parts(tail_from, tail_names)
        head = _processed_rows([tuple(raw[0])[:tail_from]], results[:tail_from], head_row._make)[0]
        tails = tuple(tuple(row)[tail_from:] for row in raw)
        return head, self._kept(
            (pool.dialect.name, convert_tail, tails),
            lambda: convert_tail(_processed_rows(list(tails), results[tail_from:], tail_row._make)),
        )

    def _parts(self, tail_from: int, tail_names: tuple[str, ...]) -> tuple[Any, Any]:
        """The row types of a row's leading columns (named as the statement names them) and of its tail."""
        found = self._part_rows.get(tail_from)
        if found is None:
            head_names = list(self._statement.exported_columns.keys())[:tail_from]
            found = self._part_rows[tail_from] = (
                namedtuple("Head", head_names, rename=True),
                namedtuple("Tail", tail_names, rename=True),
            )
        return found

    async def _read(
        self, pool: DriverConnections, parameters: Mapping[str, Any], *, one: bool, want_rows: bool = True
    ) -> list[Any]:
        raw = await self._raw(pool, parameters, one=one, want_rows=want_rows)
        return self._processed(pool.dialect, raw)

    async def _raw(
        self, pool: DriverConnections, parameters: Mapping[str, Any], *, one: bool, want_rows: bool = True
    ) -> list[Any]:
        """The driver's own rows (tuples, or asyncpg's records), before any column's processor."""
        sql, values = self.bound(pool.dialect, parameters)
        if not want_rows:
            await _on_driver(pool, "execute", sql, values, self.name)
            return []
        if one:
            row = await _on_driver(pool, "fetchrow", sql, values, self.name)
            return [] if row is None else [row]
        rows: list[Any] = await _on_driver(pool, "fetch", sql, values, self.name)
        return rows

    def _processed(self, dialect: Dialect, rows: list[Any]) -> list[Any]:
        return _processed_rows(rows, self._for(dialect)[2], self._row._make)


class ComposedStatements:
    """Statements composed per request from the same columns (a document list's filters, order and page), run
    on the driver as a DriverStatement is: one round trip, past SQLAlchemy's execution layer.

    Compiling such a statement costs about 900 µs; SQLAlchemy's cache key (a few µs) tells which ones differ only
    in their values, so each shape is compiled once and kept (the most recent ``max_shapes`` of them), and a
    request only puts its own values in. IN lists of any length share a shape: their placeholders are expanded
    per request, as SQLAlchemy's own execution does.
    """

    def __init__(self, columns: Any, name: str, *, max_shapes: int = 256) -> None:
        self.name = name
        self._columns = columns
        self._max_shapes = max_shapes
        self._shapes: collections.OrderedDict[tuple[str, Any], Any] = collections.OrderedDict()
        self._results: dict[str, tuple[Processor, ...]] = {}

    def bound(self, dialect: Dialect, statement: Any) -> tuple[str, list[Any]]:
        """The SQL for the dialect with the statement's own values, converted as the columns' types convert them."""
        cache_key = statement._generate_cache_key()
        if cache_key is None:  # a construct SQLAlchemy cannot key: compiled every time, as its own execution would
            compiled, processors = _compiled_with_processors(statement, dialect, None)
            expanded = compiled.construct_expanded_state(escape_names=False)
        else:
            shape = (dialect.name, cache_key.key)
            found = self._shapes.get(shape)
            if found is None:
                found = self._shapes[shape] = _compiled_with_processors(statement, dialect, cache_key)
                if len(self._shapes) > self._max_shapes:
                    self._shapes.popitem(last=False)
            else:
                self._shapes.move_to_end(shape)
            compiled, processors = found
            values = compiled.construct_params(extracted_parameters=cache_key.bindparams, escape_names=False)
            expanded = compiled.construct_expanded_state(values, escape_names=False)
        # An IN list's expanded placeholders have processors of their own, named as they were expanded.
        expanded_processors = expanded.processors
        values = []
        for name, value in zip(expanded.positiontup or (), expanded.positional_parameters, strict=True):
            process = expanded_processors.get(name) or processors.get(name)
            values.append(value if process is None else process(value))
        return expanded.statement, values

    async def fetch_all(self, pool: DriverConnections, statement: Any) -> list[tuple[Any, ...]]:
        sql, values = self.bound(pool.dialect, statement)
        rows = await _on_driver(pool, "fetch", sql, values, self.name)
        results = self._results.get(pool.dialect.name)
        if results is None:
            results = self._results[pool.dialect.name] = tuple(
                _result_processor(column, pool.dialect) for column in self._columns
            )
        return _processed_rows(rows, results, tuple)


async def _on_driver(pool: DriverConnections, method: str, sql: str, values: list[Any], name: str) -> Any:
    """One statement on the driver (``method`` as asyncpg names it); the driver's own errors (asyncpg's) are
    raised as SQLAlchemy's, so that a lost or refusing database answers 503 as on the engine's path."""
    try:
        if method == "fetchrow":
            return await pool.fetch_one(sql, values)
        if method == "fetch":
            return await pool.fetch_all(sql, values)
        if method == "fetchrow_grouped":
            return await pool.fetch_one_grouped(sql, values)
        return await pool.execute(sql, values)
    except (DBAPIError, ConnectionError, TimeoutError):
        raise
    except Exception as error:
        raise OperationalError(name, None, error) from error


def _processed_rows(rows: list[Any], results: tuple[Processor, ...], make: Callable[[Any], Any]) -> list[Any]:
    """Each row with each column's result processor applied, made into ``make``'s row type."""
    return [
        make(value if process is None else process(value) for value, process in zip(row, results, strict=True))
        for row in rows
    ]


def _compiled_with_processors(statement: Any, dialect: Dialect, cache_key: Any) -> tuple[Any, dict[str, Processor]]:
    """The statement compiled for the dialect, and each bound value's processor by name (as DriverStatement's)."""
    compiled = (
        statement.compile(dialect=dialect, cache_key=cache_key) if cache_key else statement.compile(dialect=dialect)
    )
    processors = {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()
    }
    return compiled, processors


def create_driver_pool(engine: AsyncEngine, *, pool_size: int) -> DriverPool | None:
    """A DriverPool on PostgreSQL and MariaDB (half the engine's pool size: the statements are short);
    None on SQLite."""
    if engine.dialect.name not in ("postgresql", "mysql", "mariadb"):
        return None
    return DriverPool(engine, max_size=max(2, pool_size // 2))
