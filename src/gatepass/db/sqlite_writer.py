"""One writer per process for a SQLite file, with group commit, on the event loop itself.

SQLite lets one connection write at a time, and a hot write (token issuance, refresh rotation, an
audit event) is a few statements worth tens of microseconds. Handing them to a thread of their own
cost more than the statements: the thread needs the GIL back after every statement while the event
loop holds it, and it held the write turn all that while, so the other workers waited for nothing.
Here the writes are small functions queued by the requests of one loop iteration; one callback at
the end of the iteration runs them all in one ``BEGIN IMMEDIATE`` transaction (again each in a savepoint
of its own when one of them fails, so that one write's failure is its own), commits once, and only then
answers each request.
Under load many requests share one commit; the loop is busy only for the statements themselves.

Between processes (workers, the CLI) the turn to write is an exclusive ``flock`` on the lock file
beside the database, the same one the SQLAlchemy engine's writers take (db/engine.py), so the two
kinds of writer never meet in SQLite's busy handler. When another process has the turn, a thread
waits for it (flock wakes it the moment it is free) and the loop writes as soon as it has it.

Checkpoints (copying the write-ahead log back into the database file, with an fsync) are the one
slow part of writing; they run on a thread of their own beside the writers, never on the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

T = TypeVar("T")


#: Writes taken into one transaction at most: bounds how long the loop is busy with one commit.
MAX_WRITES_PER_COMMIT = 256
#: How soon a loop tries again when another loop of this process (tests run several) is committing.
OTHER_LOOP_RETRY_SECONDS = 0.001
#: The checkpointer waits this long after a commit, so that one checkpoint copies many commits' pages.
CHECKPOINT_DELAY_SECONDS = 0.1
#: Pages in the write-ahead log past which the committing writer checkpoints itself: only if the
#: checkpointer thread cannot keep up (SQLite's own default is 1,000; the checkpointer runs well before).
WAL_PAGES_BACKSTOP = 8_000
#: Pages in the log past which the checkpointer finishes with the write turn held, so the log starts again.
#: Small and often: what the writers wait for is mostly the fsync of what was copied since the last one
#: (with 1,000 pages and 0.25 s it was 30-60 ms, and the p99 of client_credentials on SQLite 35-38 ms;
#: with 300 pages and 0.1 s, 24-28 ms).
RESTART_LOG_AFTER_PAGES = 300
#: Checkpoint passes beside the writers, each copying what the writers added during the one before.
CONCURRENT_CHECKPOINT_PASSES = 3
#: Pages left after which the checkpoint is finished with the turn held.
PAGES_LEFT_FOR_THE_TURN = 256


def sqlite_time(value: datetime | None) -> str | None:
    """A UTC instant in the text form the schema's datetime columns hold on SQLite (naive UTC, microseconds)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat is C all the way (strftime parses its format on every call: twice the time, and it is called
    # several times per token issued); with microseconds always written it is the same text.
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_json(value: Any) -> str | None:
    """A JSON column's value as the schema's JSON columns hold it."""
    return None if value is None else json.dumps(value)


@dataclass(slots=True)
class _Write(Generic[T]):
    work: Callable[[sqlite3.Connection], T]
    future: asyncio.Future[T]
    changes: frozenset[str]


class SqliteWriter:
    """The process's one writer to a SQLite file; ``await write(fn)`` runs ``fn(connection)`` in a group commit.

    ``fn`` runs on the event loop inside the open transaction and must only execute statements on the
    connection it is given (no awaiting, no other I/O). What it returns is the awaited result; what it
    raises is raised to its caller alone. ``changes`` names the read-cache groups the write changes:
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
        #: Transactions committed, and writes they held: their ratio is how many requests share a commit.
        self.commits = 0
        self.writes = 0
        self._start_fresh()

    def _start_fresh(self) -> None:
        """What belongs to this process alone: after a fork the child starts here, the parent's left alone."""
        self._pid = os.getpid()
        self._connection: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._queue_fd: int | None = None
        self._queue_probe_fd: int | None = None
        #: One loop at a time on the connection (a server has one loop; tests may run more).
        self._turn_of_loops = threading.Lock()
        self._pending: dict[asyncio.AbstractEventLoop, list[_Write[Any]]] = {}
        self._waiting_loops: set[asyncio.AbstractEventLoop] = set()
        self._turn_waiter = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="gatepass-sqlite-turn")
        self._checkpointer = _Checkpointer(self._path)

    async def write(self, work: Callable[[sqlite3.Connection], T], *, changes: frozenset[str] = frozenset()) -> T:
        if self._pid != os.getpid():
            self._start_fresh()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            # At the end of this loop iteration: the writes of every request that gets this far meanwhile join.
            loop.call_soon(self._flush, loop)
        pending.append(_Write(work, future, changes))
        return await future

    def close(self) -> None:
        """Close the connection and the lock file (a later write opens them again); callable from any thread."""
        with self._turn_of_loops:
            self._close_files()
        self._checkpointer.stop()

    def _close_files(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        for fd in (self._lock_fd, self._queue_fd, self._queue_probe_fd):
            if fd is not None:
                os.close(fd)
        self._lock_fd = self._queue_fd = self._queue_probe_fd = None

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop in self._waiting_loops or not self._pending.get(loop):
            return
        if not self._turn_of_loops.acquire(blocking=False):
            loop.call_later(OTHER_LOOP_RETRY_SECONDS, self._flush, loop)
            return
        try:
            lock_fd = self._open()
        except Exception as error:
            # No file, no directory, no permission: each caller is told; the next write tries again.
            self._close_files()
            self._turn_of_loops.release()
            _fail_all(self._pending.pop(loop, []), _as_dbapi_error(error, "connect"))
            return
        try:
            if self._others_are_waiting():
                raise BlockingIOError
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Another process is writing, or waits to: queue for the turn off the loop, keeping the loops' turn.
            self._waiting_loops.add(loop)
            waited = loop.run_in_executor(self._turn_waiter, self._wait_for_turn, lock_fd)
            deadline = loop.call_later(self._busy_timeout_seconds, self._give_up_waiting, loop)
            waited.add_done_callback(lambda done: self._on_turn(loop, done, deadline))
            return
        self._commit_all(loop)

    def _others_are_waiting(self) -> bool:
        """Whether a writer of another process announced that it waits for the turn.

        Without this, the process that just wrote could take the turn again at once, before the waiter
        the kernel woke runs, and a busy worker would keep the other one waiting for tens of milliseconds.
        """
        assert self._queue_probe_fd is not None
        try:
            fcntl.flock(self._queue_probe_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._queue_probe_fd, fcntl.LOCK_UN)
        return False

    def _wait_for_turn(self, lock_fd: int) -> None:
        """On the waiter thread: announce the wait (a shared lock on the queue file), then wait for the turn."""
        assert self._queue_fd is not None
        fcntl.flock(self._queue_fd, fcntl.LOCK_SH)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        finally:
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)

    def _on_turn(
        self, loop: asyncio.AbstractEventLoop, waited: asyncio.Future[None], deadline: asyncio.TimerHandle
    ) -> None:
        deadline.cancel()
        self._waiting_loops.discard(loop)
        fault = OperationalError("flock", None, sqlite3.OperationalError("the write turn was not taken"))
        if waited.cancelled() or waited.exception() is not None:
            self._turn_of_loops.release()
            _fail_all(self._pending.pop(loop, []), fault)
            return
        self._commit_all(loop)

    def _give_up_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        # The thread cannot be stopped: the writes waiting now are refused; when the turn comes, it serves
        # the writes queued by then (or is given straight back).
        _fail_all(
            self._pending.pop(loop, []),
            OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")),
        )

    def _commit_all(self, loop: asyncio.AbstractEventLoop) -> None:
        """Holding both turns: commit what this loop has queued, MAX_WRITES_PER_COMMIT at most per transaction."""
        assert self._connection is not None and self._lock_fd is not None
        try:
            pending = self._pending.pop(loop, [])
            while pending:
                batch, pending = pending[:MAX_WRITES_PER_COMMIT], pending[MAX_WRITES_PER_COMMIT:]
                self._commit(self._connection, batch)
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            self._turn_of_loops.release()

    def _open(self) -> int:
        if self._connection is None:
            # isolation_level=None: the module opens no transaction of its own; this writer says BEGIN IMMEDIATE.
            connection = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_seconds
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            # The savepoints' journals in memory, not in a temporary file opened and removed per transaction.
            connection.execute("PRAGMA temp_store=MEMORY")
            connection.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES_BACKSTOP}")
            self._connection = connection
        if self._lock_fd is None:
            self._lock_fd = os.open(f"{self._path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            # Two descriptions of the queue file: one to announce this process's wait, one to see others'.
            self._queue_fd = os.open(f"{self._path}-writer.queue", os.O_RDWR | os.O_CREAT, 0o600)
            self._queue_probe_fd = os.open(f"{self._path}-writer.queue", os.O_RDWR | os.O_CREAT, 0o600)
        return self._lock_fd

    def _commit(self, connection: sqlite3.Connection, batch: list[_Write[Any]]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        changes: frozenset[str] = frozenset()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                together = _run_together(connection, batch)
                if together is None:
                    # One write raised: start again, each write in a savepoint, so that its failure is its own.
                    connection.execute("ROLLBACK")
                    connection.execute("BEGIN IMMEDIATE")
                    outcomes = [_run_in_savepoint(connection, write.work) for write in batch]
                else:
                    outcomes = together
                for write, (_, refusal) in zip(batch, outcomes, strict=True):
                    if refusal is None:
                        changes |= write.changes
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except Exception as error:
            # The transaction did not commit: no write of the batch happened, and each caller is told so.
            _fail_all(batch, _as_dbapi_error(error, "COMMIT"))
            return
        self.commits += 1
        self.writes += len(batch)
        self._checkpointer.poke()
        if changes and self.on_change is not None:
            self.on_change(changes)
        for write, (value, refusal) in zip(batch, outcomes, strict=True):
            if write.future.cancelled():
                continue
            if refusal is not None:
                write.future.set_exception(refusal)
            else:
                write.future.set_result(value)


class _Checkpointer:
    """Copies committed pages from the write-ahead log into the database file, on a thread of its own.

    PASSIVE checkpoints copy pages beside the writers of every process (another process's checkpoint
    running at the same time makes one a no-op). The log starts again from its beginning only once it
    was copied whole, which writers adding pages all the time rarely allow: so when it has grown, the
    last few pages are copied with the write turn (the lock file) held, as a writer holds it. The
    loops go on serving meanwhile; only writes wait, for that short copy.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._wanted = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def poke(self) -> None:
        self._wanted.set()
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._stopping = False
                    self._thread = threading.Thread(target=self._serve, name="gatepass-sqlite-checkpoint", daemon=True)
                    self._thread.start()

    def stop(self) -> None:
        with self._start_lock:
            thread, self._thread = self._thread, None
            self._stopping = True
        if thread is not None:
            self._wanted.set()
            thread.join(timeout=30)

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection) -> tuple[int, int]:
        """A PASSIVE checkpoint: the pages in the log, and how many of them are not copied yet."""
        try:
            row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:
            return 0, 0
        if row is None or row[1] < 0:
            return 0, 0
        return int(row[1]), int(row[1]) - int(row[2])

    def _serve(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        lock_fd = os.open(f"{self._path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                self._wanted.wait()
                if self._stopping:
                    return
                self._wanted.clear()
                threading.Event().wait(CHECKPOINT_DELAY_SECONDS)
                # Beside the writers first: most pages are copied (and synced) while writes go on.
                log_pages, left = self._checkpoint(connection)
                for _ in range(CONCURRENT_CHECKPOINT_PASSES - 1):
                    if left <= PAGES_LEFT_FOR_THE_TURN:
                        break
                    log_pages, left = self._checkpoint(connection)
                if log_pages >= RESTART_LOG_AFTER_PAGES:
                    # Then what the writers added meanwhile, with the turn held: with the log copied whole,
                    # the next write starts it again from the beginning, so it stays small.
                    fcntl.flock(lock_fd, fcntl.LOCK_EX)
                    try:
                        self._checkpoint(connection)
                    finally:
                        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        finally:
            connection.close()
            os.close(lock_fd)


def _fail_all(batch: list[_Write[Any]], error: BaseException) -> None:
    for write in batch:
        if not write.future.done():
            write.future.set_exception(error)


def _run_together(
    connection: sqlite3.Connection, batch: list[_Write[Any]]
) -> list[tuple[Any, BaseException | None]] | None:
    """Every write of the batch, one after the other in the open transaction; None if one of them raised.

    A savepoint per write keeps each failure to itself, but costs SQLite a copy of every page the write
    first touches (the savepoint's journal) and two statements: a tenth of what a token issuance's write
    costs the loop. Writes are refused rarely (a unique key met, a replayed proof), so a batch runs without
    them first; when one write raises, the caller rolls the transaction back and runs the batch again, each
    write in a savepoint of its own.
    """
    outcomes: list[tuple[Any, BaseException | None]] = []
    for write in batch:
        try:
            outcomes.append((write.work(connection), None))
        except sqlite3.OperationalError:
            # Disk full, I/O error, corruption: the transaction as a whole is in doubt.
            raise
        except Exception:
            return None
    return outcomes


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


def _as_dbapi_error(error: BaseException, statement: str) -> BaseException:
    """The driver's error as SQLAlchemy raises it, so callers handle both kinds of writer's faults alike."""
    if isinstance(error, DBAPIError) or not isinstance(error, Exception):
        return error
    if isinstance(error, sqlite3.IntegrityError):
        return IntegrityError(statement, None, error)
    return OperationalError(statement, None, error)
