"""The hot reads of a SQLite file on one thread of the process's own, with the standard ``sqlite3`` module.

Through SQLAlchemy and the async driver, one single-row read costs about 1.5 ms of worker CPU: an
engine checkout, an execution context, a hop to the driver's thread for each of execute, fetch and
commit, and result objects. Here a named statement (db/driver.py's ``DriverStatement``, compiled
once for SQLite) goes to a reader thread that owns one connection: the thread runs every read that
is waiting, then hands all their answers back to the event loop in one call. A read is one hop to
the thread and back, and the connection's statement cache prepares each statement once.

The connection is in autocommit and read-only (``query_only``): each SELECT is its own WAL snapshot,
beside the writer (db/sqlite_writer.py), and sees every commit that finished before it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Dialect

from gatepass.db.driver import DriverConnections
from gatepass.db.sqlite_thread import Answer, BatchingThread, answer_all

#: Reads run before their answers go back to the loop at most: bounds how long the first waits.
MAX_READS_PER_HANDOFF = 128


@dataclass(slots=True)
class _Read:
    method: str
    sql: str
    values: list[Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class SqliteReader(DriverConnections, BatchingThread[_Read]):
    """The process's reader of a SQLite file, with the same reading methods as a DriverPool."""

    backend = "sqlite"

    def __init__(self, path: str, *, busy_timeout_seconds: float, dialect: Dialect | None = None) -> None:
        super().__init__(
            name="gatepass-sqlite-reader",
            max_batch=MAX_READS_PER_HANDOFF,
            stop_timeout_seconds=busy_timeout_seconds + 5,
        )
        self.dialect: Dialect = dialect or sqlite_dialect.dialect()
        self._path = path
        self._busy_timeout_seconds = busy_timeout_seconds
        self._connection: sqlite3.Connection | None = None

    async def execute(self, sql: str, values: list[Any]) -> None:
        raise TypeError("the SQLite reader only reads: writes go to the SQLite writer (db/sqlite_writer.py)")

    async def _read(self, method: str, sql: str, values: list[Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._submit(_Read(method, sql, values, loop, future))
        return await future

    async def close(self) -> None:
        await asyncio.to_thread(self._stop)

    def _handle(self, batch: list[_Read]) -> None:
        answers: list[Answer] = []
        for read in batch:
            try:
                if self._connection is None:
                    self._connection = self._connect()
                answers.append((read.loop, read.future, _run(self._connection, read), None))
            except Exception as error:
                answers.append((read.loop, read.future, None, error))
                if isinstance(error, sqlite3.OperationalError):
                    # The file may have gone, been replaced or failed: the next read opens it anew.
                    self._finish()
        answer_all(answers)

    def _finish(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None

    def _forget_parent(self) -> None:
        self._connection = None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_seconds
        )
        connection.execute("PRAGMA query_only=ON")
        return connection


def _run(connection: sqlite3.Connection, read: _Read) -> Any:
    cursor = connection.execute(read.sql, read.values)
    try:
        if read.method == "fetchrow":
            return cursor.fetchone()
        return cursor.fetchall()
    finally:
        cursor.close()
