"""Async engine and session factory for SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import os
import re
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import await_only

from gatepass.cache.reads import GROUPS, TOKENS
from gatepass.config import Settings, make_private_dir, restrict_mode
from gatepass.db.driver import MARIADB_ISOLATION_LEVEL
from gatepass.db.sqlite_reader import SqliteReader
from gatepass.db.sqlite_writer import SqliteWriter

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
}


def database_url(settings: Settings) -> URL:
    """The async URL for the configured database (a SQLite file under var/ by default)."""
    raw = settings.database.url
    if not raw:
        path = Path(settings.server.var_dir).resolve() / "gatepass.db"
        return make_url(f"sqlite+aiosqlite:///{path}")
    url = make_url(raw)
    backend = url.drivername.split("+", 1)[0]
    if "+" not in url.drivername or backend in ("postgres", "mariadb"):
        url = url.set(drivername=_ASYNC_DRIVERS[backend])
    if backend in ("mysql", "mariadb") and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


#: How long a writer waits for another to finish: in this process on the write queue, from another process
#: in SQLite's busy handler. Longer than that, and the statement fails with "database is locked".
SQLITE_BUSY_TIMEOUT_SECONDS = 10


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer. The busy handler only waits for writers of other
    # processes (other workers, the CLI): this process's writers queue on _SQLiteQueuedWrites' lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


#: A statement that writes: SQLite takes its write lock for it (Core, ORM flush, text, WITH ... INSERT).
_WRITE_STATEMENT = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b|\s*WITH\b.*\b(INSERT|UPDATE|DELETE|REPLACE)\b",
                              re.IGNORECASE | re.DOTALL)  # fmt: skip


class _WriteQueue:
    """The writers of one event loop, one at a time; which task holds the turn, and the lock file it holds."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.holder: asyncio.Task[Any] | None = None
        self.file_lock: int | None = None


#: One thread per process waits for the other processes' writers: the write queue lets one writer at a time ask.
_FILE_LOCK_WAITER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatepass-sqlite-turn")


def _unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)


async def _lock_file(fd: int, timeout_seconds: float) -> None:
    """Wait for the processes' writers ahead on the lock file; flock wakes the waiter the moment it is free,
    where SQLite's busy handler would sleep up to 100 ms between tries and let one process starve the other."""
    with contextlib.suppress(BlockingIOError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    waited = asyncio.get_running_loop().run_in_executor(_FILE_LOCK_WAITER, fcntl.flock, fd, fcntl.LOCK_EX)
    try:
        async with asyncio.timeout(timeout_seconds):
            await asyncio.shield(waited)
    except TimeoutError:
        # The thread cannot be stopped: should it get the lock after all, give it straight back.
        def give_back(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is None:
                _unlock(fd)

        waited.add_done_callback(give_back)
        raise


class _SQLiteQueuedWrites(SQLiteDialect_aiosqlite):
    """aiosqlite whose write transactions in one process take turns on an asyncio lock.

    SQLite has one writer at a time. Left to SQLite, concurrent writers of one process each sit in the
    busy handler, which sleeps and retries on a back-off of up to 100 ms: throughput falls and p99 climbs
    with every writer added. Here a transaction's first write waits for its turn on the event loop
    (first come, first served, no polling), then opens the transaction with BEGIN IMMEDIATE, which
    takes the write lock at once; the turn passes on the moment the COMMIT or ROLLBACK returns.
    Reads need no turn: in WAL they run on their own connections beside the writer.

    As the driver always did, a transaction's reads before its first write run outside it, so no
    transaction ever holds a read snapshot it must later upgrade to a write (which SQLite refuses,
    without waiting, once another writer committed meanwhile). The stores write first and check
    with the statement itself (``UPDATE ... WHERE consumed_at IS NULL``), never read-then-write.

    Between processes (workers, the CLI) the turn is an exclusive flock on a lock file beside the database,
    waited for in a thread, so a process's writer is woken the moment another process's writer is done;
    SQLite's busy handler stays as the last resort (a writer with no event loop, or a foreign process).
    """

    supports_statement_cache = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _WriteQueue] = weakref.WeakKeyDictionary()
        #: Per database file, the open lock file whose exclusive flock is the write turn between processes.
        self._lock_files: dict[str, int] = {}
        #: id() of each DBAPI connection in a write transaction opened here, and the queue it holds a turn of.
        self._turns: dict[int, _WriteQueue | None] = {}

    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        self._begin_write(statement, context)
        super().do_execute(cursor, statement, parameters, context)  # type: ignore[no-untyped-call]

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any = None) -> None:
        self._begin_write(statement, context)
        super().do_execute_no_params(cursor, statement, context)  # type: ignore[no-untyped-call]

    def do_executemany(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        self._begin_write(statement, context)
        super().do_executemany(cursor, statement, parameters, context)  # type: ignore[no-untyped-call]

    def do_commit(self, dbapi_connection: Any) -> None:
        try:
            super().do_commit(dbapi_connection)  # type: ignore[no-untyped-call]
        finally:
            self._end_write(dbapi_connection)

    def do_rollback(self, dbapi_connection: Any) -> None:
        try:
            super().do_rollback(dbapi_connection)  # type: ignore[no-untyped-call]
        finally:
            self._end_write(dbapi_connection)

    def do_close(self, dbapi_connection: Any) -> None:
        try:
            super().do_close(dbapi_connection)  # type: ignore[no-untyped-call]
        finally:
            self._end_write(dbapi_connection)

    def do_terminate(self, dbapi_connection: Any) -> None:
        try:
            super().do_terminate(dbapi_connection)
        finally:
            self._end_write(dbapi_connection)

    def _begin_write(self, statement: str, context: Any) -> None:
        if context is None or not _WRITE_STATEMENT.match(statement):
            return
        pooled = context.root_connection.connection
        dbapi_connection, key = pooled.dbapi_connection, id(pooled.dbapi_connection)
        if key in self._turns or pooled.driver_connection.in_transaction:
            return  # this transaction has begun already (here, or by a SAVEPOINT or a statement's own BEGIN)
        queue = self._take_turn(context.root_connection.engine.url.database)
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE").close()
        except BaseException:
            self._pass_turn(queue)
            raise
        self._turns[key] = queue

    def _take_turn(self, database: str | None) -> _WriteQueue | None:
        """Wait for this loop's writers ahead, then for other processes' writers on the database's lock file;
        None when there is no loop, or this task already has the turn."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _WriteQueue()
        task = asyncio.current_task(loop)
        if queue.holder is not None and queue.holder.done():
            # Its task ended without its connection's COMMIT, ROLLBACK or close reaching this dialect
            # (a connection dropped by the garbage collector): the turn would never come back.
            self._turns = {key: held for key, held in self._turns.items() if held is not queue}
            self._pass_turn(queue)
        if task is not None and queue.holder is task:
            # A second connection written by the task that holds the turn (never done by the stores):
            # waiting for itself would never end, so it meets its other connection in the busy handler.
            return None
        try:
            await_only(_acquire(queue.lock, SQLITE_BUSY_TIMEOUT_SECONDS))
        except TimeoutError:
            raise self.loaded_dbapi.OperationalError("database is locked (waited for this process's writers)") from None
        queue.holder = task
        fd = self._lock_file_of(database)
        if fd is not None:
            try:
                await_only(_lock_file(fd, SQLITE_BUSY_TIMEOUT_SECONDS))
            except TimeoutError:
                self._pass_turn(queue)
                raise self.loaded_dbapi.OperationalError("database is locked (waited for other processes)") from None
            queue.file_lock = fd
        return queue

    def _lock_file_of(self, database: str | None) -> int | None:
        """The lock file beside a database file (made owner-only, like the database); None in memory."""
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        fd = self._lock_files.get(database)
        if fd is None:
            fd = self._lock_files[database] = os.open(f"{database}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        return fd

    def _end_write(self, dbapi_connection: Any) -> None:
        if isinstance(dbapi_connection, PoolProxiedConnection):
            dbapi_connection = dbapi_connection.dbapi_connection
        key = id(dbapi_connection)
        if key in self._turns:
            self._pass_turn(self._turns.pop(key))

    @staticmethod
    def _pass_turn(queue: _WriteQueue | None) -> None:
        if queue is not None:
            if queue.file_lock is not None:
                _unlock(queue.file_lock)
                queue.file_lock = None
            queue.holder = None
            queue.lock.release()


async def _acquire(lock: asyncio.Lock, timeout_seconds: float) -> None:
    async with asyncio.timeout(timeout_seconds):
        await lock.acquire()


registry.register("sqlite.gatepass_aiosqlite", __name__, "_SQLiteQueuedWrites")


def _make_private_sqlite_file(path: Path, var_path: Path) -> None:
    """The database holds password hashes and encrypted keys: owner-only, in an owner-only folder.

    SQLite gives its -wal and -shm files the database file's permissions, so they follow. A folder
    other than the var folder is only made owner-only when Gatepass creates it.
    """
    if path.parent.resolve() == var_path.resolve():
        make_private_dir(path.parent)
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    restrict_mode(path, 0o077)


#: A PostgreSQL connection idle in the pool for longer than this is pinged before use.
PING_AFTER_IDLE_SECONDS = 10.0


def _pg_checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["gatepass_idle_since"] = time.monotonic()


def _pg_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """pool_pre_ping for asyncpg without its three round trips (BEGIN; SELECT; ROLLBACK) on every checkout.

    A connection the server closed (restart, pg_terminate_backend, idle timeout) is already marked
    closed by asyncpg, which saw the socket end while the connection sat in the pool: that costs
    nothing to check. Only one idle for a while, which a middlebox may have dropped without a word,
    gets the real ping. Either failure invalidates the pool, as a failed pre-ping does, and the
    pool connects afresh.
    """
    idle_since = record.info.get("gatepass_idle_since")
    if record.driver_connection is None or record.driver_connection.is_closed():
        raise exc.InvalidatePoolError()
    if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
        try:
            dbapi_connection.ping()
        except Exception as error:  # any failure means: do not use this connection
            raise exc.InvalidatePoolError() from error


def create_engine(settings: Settings) -> AsyncEngine:
    url = database_url(settings)
    backend = url.get_backend_name()
    # SQLite: a file never drops a connection, so nothing to ping. PostgreSQL: see _pg_checkout.
    options: dict[str, Any] = {"echo": settings.database.echo, "pool_pre_ping": backend not in ("sqlite", "postgresql")}
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            _make_private_sqlite_file(Path(url.database), settings.var_path)
        engine = create_async_engine(url.set(drivername="sqlite+gatepass_aiosqlite"), **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # pool_timeout: when the database is gone, fail within seconds instead of queueing for 30.
    options.update(
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.pool_size // 2,
        pool_recycle=1800,
        pool_timeout=5,
    )
    if backend == "postgresql":
        options["connect_args"] = {"timeout": 5, "command_timeout": 15}
    else:
        options["connect_args"] = {"connect_timeout": 5}
        options["isolation_level"] = MARIADB_ISOLATION_LEVEL
    engine = create_async_engine(url, **options)
    if backend == "postgresql":
        event.listen(engine.sync_engine, "checkin", _pg_checked_in)
        event.listen(engine.sync_engine, "checkout", _pg_checkout)
    return engine


#: Tables whose rows feed the read cache (cache/reads.py), and the groups of entries a write to them
#: may change. Token rows change all the time and affect only token entries; a change to any other
#: one empties every group (deleting a user or client deletes their tokens with it).
_TOKEN_TABLES = frozenset({"token_grants", "access_tokens", "revoked_access_tokens", "token_exchanges"})
_CACHED_TABLES = _TOKEN_TABLES | {
    "users",
    "roles",
    "user_roles",
    "oauth_clients",
    "runtime_settings",
    "signing_keys",
    "doc_types",
    "doc_fields",
    "doc_permissions",
    "document_scopes",
}
#: Of those, the ones where a new row changes what a cached read returns. A new client, user, grant or
#: token changes nothing already cached (misses are never cached); a new role link or permission does, and
#: so does a token exchange's record (an access token is read with whether its grant has one).
_INSERT_MATTERS = frozenset(
    {
        "token_exchanges",
        "roles",
        "user_roles",
        "revoked_access_tokens",
        "runtime_settings",
        "signing_keys",
        "doc_types",
        "doc_fields",
        "doc_permissions",
        "document_scopes",
    }
)
_ALL_GROUPS = frozenset(GROUPS)
_TOKEN_GROUP = frozenset({TOKENS})
_CHANGED = "gatepass_changed_cache_groups"


#: Every table a statement writes, whatever built it (Core, ORM flush, text, data-modifying CTEs).
_WRITES = re.compile(r"\b(INSERT INTO|UPDATE|DELETE FROM)\s+[`\"]?(\w+)")


#: Noting grants' last use (db/tokens.py touch_grants) changes nothing any cached read returns.
_LAST_USE_ONLY = re.compile(
    r"UPDATE [`\"]?token_grants[`\"]? SET last_used_at=[^,]+ WHERE token_grants\.id IN \([^)]*\)"
)


def _groups_written(statement: str) -> frozenset[str]:
    if statement.startswith("SELECT") or _LAST_USE_ONLY.fullmatch(statement):
        return frozenset()
    groups: frozenset[str] = frozenset()
    for verb, table in _WRITES.findall(statement):
        if table not in _CACHED_TABLES or (verb == "INSERT INTO" and table not in _INSERT_MATTERS):
            continue
        groups |= _TOKEN_GROUP if table in _TOKEN_TABLES else _ALL_GROUPS
    return groups


def _note_write(conn: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any, _many: bool) -> None:
    groups = _groups_written(statement)
    if groups:
        conn.info[_CHANGED] = conn.info.get(_CHANGED, frozenset()) | groups


def announce_changes(engine: AsyncEngine, on_change: Callable[[frozenset[str]], None]) -> None:
    """Call on_change with the groups written once a connection that wrote cached rows goes back to the pool.

    Check-in comes after the commit (or rollback), so a worker that hears of the change and reloads
    reads the committed rows, never the old ones; a rollback just costs a needless refill.
    """

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        groups = record.info.pop(_CHANGED, None)
        if groups:
            on_change(groups)

    event.listen(engine.sync_engine, "after_cursor_execute", _note_write)
    event.listen(engine.sync_engine, "checkin", checked_in)


def create_sqlite_writer(engine: AsyncEngine) -> SqliteWriter | None:
    """The process's group-commit writer for a SQLite file (db/sqlite_writer.py); None for other databases.

    An in-memory database has no file another connection could write to, so it keeps the engine's writes.
    """
    path = _sqlite_file(engine.url)
    return None if path is None else SqliteWriter(path, busy_timeout_seconds=SQLITE_BUSY_TIMEOUT_SECONDS)


def create_sqlite_reader(engine: AsyncEngine) -> SqliteReader | None:
    """The process's reader for the hot reads of a SQLite file (db/sqlite_reader.py); None otherwise."""
    path = _sqlite_file(engine.url)
    if path is None:
        return None
    return SqliteReader(path, busy_timeout_seconds=SQLITE_BUSY_TIMEOUT_SECONDS, dialect=engine.dialect)


def _sqlite_file(url: URL) -> str | None:
    """The path of a SQLite database file that other connections can open, else None."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):
        return None
    return url.database
