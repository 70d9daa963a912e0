"""One writer per process for a SQLite file, with group commit.

SQLite lets one connection write at a time. Through the async driver, every statement of a write
transaction is a hop to the driver's thread and back to the event loop, and the write lock is held
across all of those hops while other requests' writers wait. Here the hot writes (token issuance,
refresh rotation, audit events) are small functions handed to one thread that owns one ``sqlite3``
connection: it takes every write that is waiting, runs them all in one ``BEGIN IMMEDIATE``
transaction (each in a savepoint of its own, so one write's failure is its own), commits once, and
only then answers each request. Under load many requests share one commit; alone, a write costs one
hop to the thread and back.

Between processes (workers, the CLI) the turn to write is an exclusive ``flock`` on the lock file
beside the database, the same one the SQLAlchemy engine's writers take (db/engine.py), so the two
kinds of writer never meet in SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from gatepass.db.sqlite_thread import BatchingThread, answer_all

T = TypeVar("T")

#: Writes taken into one transaction at most: bounds how long the last of them waits for the commit.
MAX_WRITES_PER_COMMIT = 256


def sqlite_time(value: datetime | None) -> str | None:
    """A UTC instant in the text form the schema's datetime columns hold on SQLite (naive UTC, microseconds)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def sqlite_json(value: Any) -> str | None:
    """A JSON column's value as the schema's JSON columns hold it."""
    return None if value is None else json.dumps(value)


@dataclass
class _Write(Generic[T]):
    work: Callable[[sqlite3.Connection], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    changes: frozenset[str]
    outcome: tuple[T | None, BaseException | None] = field(default=(None, None))


class SqliteWriter(BatchingThread[_Write[Any]]):
    """The process's one writer to a SQLite file; ``await write(fn)`` runs ``fn(connection)`` in a group commit.

    ``fn`` runs on the writer's thread inside the open transaction and must only execute statements on
    the connection it is given (no awaiting, no other I/O). What it returns is the awaited result; what
    it raises is raised to its caller alone. ``changes`` names the read-cache groups the write changes:
    they are announced (``on_change``) after the commit, before the writer is answered.
    """

    def __init__(
        self,
        path: str,
        *,
        busy_timeout_seconds: float,
        on_change: Callable[[frozenset[str]], None] | None = None,
    ) -> None:
        super().__init__(
            name="gatepass-sqlite-writer",
            max_batch=MAX_WRITES_PER_COMMIT,
            stop_timeout_seconds=busy_timeout_seconds + 5,
        )
        self._path = path
        self._busy_timeout_seconds = busy_timeout_seconds
        self.on_change = on_change
        self._connection: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        #: Transactions committed, and writes they held: their ratio is how many requests share a commit.
        self.commits = 0
        self.writes = 0

    async def write(self, work: Callable[[sqlite3.Connection], T], *, changes: frozenset[str] = frozenset()) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._submit(_Write(work, loop, future, changes))
        return await future

    def close(self) -> None:
        """Finish the writes already queued, then stop the thread (a later write starts it again)."""
        self._stop()

    def _handle(self, batch: list[_Write[Any]]) -> None:
        if self._connection is None or self._lock_fd is None:
            try:
                self._connection = self._connect()
                self._lock_fd = os.open(f"{self._path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            except Exception as error:
                # No file, no directory, no permission: each caller is told; the next batch tries again.
                self._finish()
                fault = _as_dbapi_error(error, "connect")
                answer_all((write.loop, write.future, None, fault) for write in batch)
                return
        self._commit(self._connection, self._lock_fd, batch)

    def _forget_parent(self) -> None:
        self._connection, self._lock_fd = None, None

    def _finish(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: the module opens no transaction of its own; this thread says BEGIN IMMEDIATE.
        connection = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_seconds
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    def _commit(self, connection: sqlite3.Connection, lock_fd: int, batch: list[_Write[Any]]) -> None:
        changes: frozenset[str] = frozenset()
        try:
            with _turn(lock_fd):
                connection.execute("BEGIN IMMEDIATE")
                try:
                    for write in batch:
                        write.outcome = _run_in_savepoint(connection, write.work)
                        if write.outcome[1] is None:
                            changes |= write.changes
                    connection.execute("COMMIT")
                    self.commits += 1
                    self.writes += len(batch)
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
        except Exception as error:
            # The transaction did not commit: no write of the batch happened, and each caller is told so.
            fault = _as_dbapi_error(error, "COMMIT")
            for write in batch:
                write.outcome = (None, fault)
            changes = frozenset()
        # A loop that closed meanwhile (shutdown) has nobody left to answer.
        with contextlib.suppress(RuntimeError):
            if changes and self.on_change is not None:
                batch[0].loop.call_soon_threadsafe(self.on_change, changes)
        answer_all((write.loop, write.future, *write.outcome) for write in batch)


def _run_in_savepoint(
    connection: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]
) -> tuple[T | None, BaseException | None]:
    connection.execute("SAVEPOINT one_write")
    try:
        value = work(connection)
    except sqlite3.OperationalError as error:
        # Disk full, I/O error, corruption: the transaction as a whole is in doubt.
        raise error
    except Exception as error:
        connection.execute("ROLLBACK TO one_write")
        connection.execute("RELEASE one_write")
        return None, _as_dbapi_error(error, "write") if isinstance(error, sqlite3.Error) else error
    connection.execute("RELEASE one_write")
    return value, None


def _as_dbapi_error(error: Exception, statement: str) -> Exception:
    """The driver's error as SQLAlchemy raises it, so callers handle both kinds of writer's faults alike."""
    if isinstance(error, DBAPIError):
        return error
    if isinstance(error, sqlite3.IntegrityError):
        return IntegrityError(statement, None, error)
    return OperationalError(statement, None, error)


@contextlib.contextmanager
def _turn(lock_fd: int) -> Iterator[None]:
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
