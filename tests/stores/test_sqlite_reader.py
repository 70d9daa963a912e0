"""The SQLite reader: it sees every commit of the writer, answers reads that arrive together, and
turns a fault into an error of its own caller."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from gatepass.db.sqlite_reader import SqliteReader
from gatepass.db.sqlite_writer import SqliteWriter


def _schema(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
    connection.close()


def _insert(name: str) -> Callable[[sqlite3.Connection], None]:
    def work(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO items (name) VALUES (?)", (name,))

    return work


async def test_each_read_sees_every_commit_the_writer_answered_before_it(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    writer = SqliteWriter(str(path), busy_timeout_seconds=10)
    reader = SqliteReader(str(path), busy_timeout_seconds=10)
    try:
        for n in range(50):
            await writer.write(_insert(f"item-{n}"))
            row = await reader.fetch_one("SELECT name FROM items WHERE name = ?", [f"item-{n}"])
            assert row == (f"item-{n}",)
        rows = await asyncio.gather(
            *(reader.fetch_one("SELECT id FROM items WHERE name = ?", [f"item-{n}"]) for n in range(50))
        )
        assert [row[0] for row in rows] == list(range(1, 51))
        assert len(await reader.fetch_all("SELECT id FROM items", [])) == 50
        assert await reader.fetch_one("SELECT id FROM items WHERE name = ?", ["absent"]) is None
    finally:
        writer.close()
        await reader.close()


async def test_the_reader_refuses_writes_and_a_broken_read_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _schema(path)
    reader = SqliteReader(str(path), busy_timeout_seconds=10)
    try:
        with pytest.raises(TypeError, match="only reads"):
            await reader.execute("DELETE FROM items", [])
        broken, fine = await asyncio.gather(
            reader.fetch_one("SELECT nothing FROM nowhere", []),
            reader.fetch_all("SELECT count(*) FROM items", []),
            return_exceptions=True,
        )
        assert isinstance(broken, sqlite3.OperationalError)
        assert fine == [(0,)]
        # The connection is read-only: a write slipped in as a read is refused by SQLite itself.
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.fetch_all("INSERT INTO items (name) VALUES ('sneaky') RETURNING id", [])
        assert await reader.fetch_all("SELECT name FROM items", []) == []
    finally:
        await reader.close()
