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
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

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


class SqliteWriter:
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
        self._path = path
        self._busy_timeout_seconds = busy_timeout_seconds
        self.on_change = on_change
        self._writes: queue.SimpleQueue[_Write[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._pid = os.getpid()
        #: Transactions committed, and writes they held: their ratio is how many requests share a commit.
        self.commits = 0
        self.writes = 0

    async def write(self, work: Callable[[sqlite3.Connection], T], *, changes: frozenset[str] = frozenset()) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ensure_started()
        self._writes.put(_Write(work, loop, future, changes))
        return await future

    def close(self) -> None:
        """Finish the writes already queued, then stop the thread (a later write starts it again)."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._writes.put(None)
            thread.join(timeout=self._busy_timeout_seconds + 5)

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid != os.getpid():
                # A forked child inherits the object but not the thread: it starts its own writer.
                self._pid, self._thread, self._writes = os.getpid(), None, queue.SimpleQueue()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="gatepass-sqlite-writer", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        connection = self._connect()
        lock_fd = os.open(f"{self._path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                first = self._writes.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < MAX_WRITES_PER_COMMIT:
                    try:
                        queued = self._writes.get_nowait()
                    except queue.Empty:
                        break
                    if queued is None:
                        stop = True
                        break
                    batch.append(queued)
                self._commit(connection, lock_fd, batch)
                if stop:
                    return
        finally:
            connection.close()
            os.close(lock_fd)

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
        for write in batch:
            with contextlib.suppress(RuntimeError):
                write.loop.call_soon_threadsafe(_settle, write.future, *write.outcome)


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


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
