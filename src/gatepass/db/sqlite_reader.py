"""The hot reads of a SQLite file, on the event loop, with the standard ``sqlite3`` module.

Through SQLAlchemy and the async driver, one single-row read costs about 1.5 ms of worker CPU: an
engine checkout, an execution context, a hop to the driver's thread for each of execute, fetch and
commit, and result objects. Here a named statement (db/driver.py's ``DriverStatement``, compiled
once for SQLite) runs on a connection of the loop's own, and the connection's statement cache
prepares each statement once. A point read of a file the operating system holds in memory takes
tens of microseconds: less than a hop to a thread and back, which also cost the requests behind it
their turn (a reader thread made the uncached userinfo's p99 80 ms where this makes it 10 ms). The
writer (db/sqlite_writer.py) runs on the loop for the same reason.

The connection is in autocommit and read-only (``query_only``): each SELECT is its own WAL snapshot,
beside the writer, and sees every commit that finished before it started. WAL readers take no lock a
writer holds, so a read never waits for a write.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Dialect

from gatepass.db.driver import DriverConnections


class SqliteReader(DriverConnections):
    """The process's reader of a SQLite file, with the same reading methods as a DriverPool."""

    backend = "sqlite"

    def __init__(self, path: str, *, busy_timeout_seconds: float, dialect: Dialect | None = None) -> None:
        self.dialect: Dialect = dialect or sqlite_dialect.dialect()
        self._path = path
        self._busy_timeout_seconds = busy_timeout_seconds
        #: A connection per thread that reads (a server's one loop; tests run loops on other threads too).
        self._connections = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._pid = os.getpid()

    async def execute(self, sql: str, values: list[Any]) -> None:
        raise TypeError("the SQLite reader only reads: writes go to the SQLite writer (db/sqlite_writer.py)")

    async def _read(self, method: str, sql: str, values: list[Any]) -> Any:
        connection = self._connection()
        try:
            cursor = connection.execute(sql, values)
            try:
                return cursor.fetchone() if method == "fetchrow" else cursor.fetchall()
            finally:
                cursor.close()
        except sqlite3.OperationalError:
            # The file may have gone, been replaced or failed: the next read opens it anew.
            self._forget(connection)
            raise

    async def close(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._connections = threading.local()

    def _connection(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            # A forked worker: the parent's connections are the parent's (closing them here would disturb it).
            self._pid, self._connections, self._opened = os.getpid(), threading.local(), []
        connection: sqlite3.Connection | None = getattr(self._connections, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_seconds
            )
            connection.execute("PRAGMA query_only=ON")
            self._connections.connection = connection
            with self._opened_lock:
                self._opened.append(connection)
        return connection

    def _forget(self, connection: sqlite3.Connection) -> None:
        self._connections.connection = None
        with self._opened_lock:
            if connection in self._opened:
                self._opened.remove(connection)
        connection.close()
