"""The SQLite writer: requests that write together share one commit, and one write's failure is its own."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import multiprocessing
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from gatepass.db.sqlite_writer import SqliteWriter


def _schema(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, writer TEXT)")
    connection.close()


def _insert(name: str, writer: str = "test") -> Callable[[sqlite3.Connection], int]:
    def work(connection: sqlite3.Connection) -> int:
        row_id = connection.execute("INSERT INTO items (name, writer) VALUES (?, ?)", (name, writer)).lastrowid
        assert row_id is not None
        return row_id

    return work


def _names(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        found = [row[0] for row in connection.execute("SELECT name FROM items ORDER BY id")]
    connection.close()
    return found


async def test_writes_that_arrive_together_share_commits_and_all_land(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    writer = SqliteWriter(str(path), busy_timeout_seconds=10)
    try:
        ids = await asyncio.gather(*(writer.write(_insert(f"item-{n}")) for n in range(500)))
    finally:
        writer.close()
    assert sorted(ids) == list(range(1, 501))
    assert sorted(_names(path)) == sorted(f"item-{n}" for n in range(500))
    assert writer.writes == 500
    assert writer.commits < 500, "writes queued together should have shared a commit"


async def test_a_failing_write_fails_alone_and_the_others_of_its_commit_land(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    writer = SqliteWriter(str(path), busy_timeout_seconds=10)
    try:
        await writer.write(_insert("taken"))
        results = await asyncio.gather(
            writer.write(_insert("before")),
            writer.write(_insert("taken")),
            writer.write(_insert("after")),
            return_exceptions=True,
        )
    finally:
        writer.close()
    assert isinstance(results[1], IntegrityError), results
    assert isinstance(results[0], int) and isinstance(results[2], int), results
    assert _names(path) == ["taken", "before", "after"]


async def test_a_write_that_fails_halfway_leaves_none_of_its_rows_and_the_others_land_once(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    writer = SqliteWriter(str(path), busy_timeout_seconds=10)

    def half(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO items (name, writer) VALUES ('half', 'test')")
        raise ValueError("refused after its first statement")

    try:
        results = await asyncio.gather(
            writer.write(_insert("before")),
            writer.write(half),
            writer.write(_insert("after")),
            return_exceptions=True,
        )
        # The next commit is a fresh transaction again, with nothing of the failed write in it.
        await writer.write(_insert("later"))
    finally:
        writer.close()
    assert isinstance(results[1], ValueError), results
    assert _names(path) == ["before", "after", "later"]
    assert results[0] == 1 and results[2] == 2, "each write that landed ran once, and answers its own row"


async def test_changes_are_announced_after_the_commit_that_holds_them(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    announced: list[tuple[frozenset[str], list[str]]] = []
    writer = SqliteWriter(
        str(path), busy_timeout_seconds=10, on_change=lambda groups: announced.append((groups, _names(path)))
    )
    try:
        await writer.write(_insert("quiet"))
        await writer.write(_insert("loud"), changes=frozenset({"tokens"}))
    finally:
        writer.close()
    assert announced == [(frozenset({"tokens"}), ["quiet", "loud"])]


def _write_many(path: str, prefix: str, count: int) -> None:
    async def main() -> None:
        writer = SqliteWriter(path, busy_timeout_seconds=30)
        try:
            await asyncio.gather(*(writer.write(_insert(f"{prefix}-{n}", prefix)) for n in range(count)))
        finally:
            writer.close()

    asyncio.run(main())


def test_writers_of_several_processes_on_one_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_many, args=(str(path), f"p{n}", 400)) for n in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0, 0]
    names = _names(path)
    assert len(names) == 1200
    assert set(names) == {f"p{n}-{i}" for n in range(3) for i in range(400)}


async def test_a_broken_statement_reaches_its_caller_as_a_database_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    writer = SqliteWriter(str(path), busy_timeout_seconds=10)
    try:
        with pytest.raises(Exception) as raised:
            await writer.write(lambda connection: connection.execute("INSERT INTO missing_table VALUES (1)"))
        assert "missing_table" in str(raised.value)
        assert await writer.write(_insert("still-writing")) == 1
    finally:
        writer.close()


@contextlib.contextmanager
def _lock_file_of(path: Path) -> Iterator[int]:
    """Another open file description on the writers' lock file: it stands in for another process's writer."""
    other = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield other
    finally:
        os.close(other)


async def test_a_write_waits_while_another_process_has_the_turn_and_lands_after_it(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    writer = SqliteWriter(str(path), busy_timeout_seconds=10)
    try:
        with _lock_file_of(path) as other:
            fcntl.flock(other, fcntl.LOCK_EX)
            waiting = asyncio.gather(*(writer.write(_insert(f"queued-{n}")) for n in range(20)))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "a write went ahead while another process had the turn"
            assert _names(path) == []
            fcntl.flock(other, fcntl.LOCK_UN)
            assert sorted(await waiting) == list(range(1, 21))
        assert await writer.write(_insert("after")) == 21
    finally:
        writer.close()
    assert len(_names(path)) == 21


async def test_a_write_that_cannot_get_the_turn_in_time_is_refused_as_locked(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    writer = SqliteWriter(str(path), busy_timeout_seconds=0.2)
    try:
        with _lock_file_of(path) as other:
            fcntl.flock(other, fcntl.LOCK_EX)
            with pytest.raises(OperationalError, match="database is locked"):
                await writer.write(_insert("too-late"))
            fcntl.flock(other, fcntl.LOCK_UN)
        # The turn the waiter got in the end is used by the next write (or given back).
        assert await writer.write(_insert("in-time")) == 1
    finally:
        writer.close()
    assert _names(path) == ["in-time"]


async def test_the_log_is_copied_back_and_started_again_while_writes_go_on(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    writer = SqliteWriter(str(path), busy_timeout_seconds=10)
    pad = "x" * 3000  # about a page a row
    try:
        for round_ in range(24):
            await asyncio.gather(*(writer.write(_insert(f"{round_}-{n}-{pad}")) for n in range(150)))
            await asyncio.sleep(0.3)  # the checkpointer's chance, as between bursts of requests
        # Without checkpoints the log would hold every page written: 3,600 rows of a page each, ~15 MB.
        # (Measured before closing: the last connection to close copies the log back and removes it.)
        assert os.path.getsize(f"{path}-wal") < 8_000_000
    finally:
        writer.close()
    assert len(_names(path)) == 3600
