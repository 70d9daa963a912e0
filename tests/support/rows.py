"""Read and change rows of a running server's own database, on any backend.

Queries use ``?`` placeholders; they are rewritten for asyncpg (``$1``) and aiomysql (``%s``).
Tests use this to look at audit records and to end a lockout as the passing of time would.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import sqlite3
from typing import Any

from support.server import LiveServer


def rows(server: LiveServer, query: str, *params: Any) -> list[tuple[Any, ...]]:
    if server.backend == "sqlite":
        with sqlite3.connect(server.var_dir / "gatepass.db") as connection:
            found = list(connection.execute(query, params))
        connection.close()
        return found
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        result: list[tuple[Any, ...]] = pool.submit(asyncio.run, _server_sql(server, query, params)).result()
        return result


def execute(server: LiveServer, statement: str, *params: Any) -> None:
    rows(server, statement, *params)


async def _server_sql(server: LiveServer, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    if server.backend == "postgresql":
        import asyncpg

        numbered = iter(range(1, len(params) + 1))
        connection = await asyncpg.connect(server.database.url)
        try:
            records = await connection.fetch(re.sub(r"\?", lambda _: f"${next(numbered)}", query), *params)
        finally:
            await connection.close()
        return [tuple(record) for record in records]
    import aiomysql

    connection = await aiomysql.connect(
        host="127.0.0.1", port=3306, user="root", password="", db=server.database.name, autocommit=True
    )
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(query.replace("?", "%s"), params)
            return [tuple(row) for row in await cursor.fetchall()]
    finally:
        connection.close()


def audit_events(server: LiveServer, event: str) -> list[tuple[int | None, str | None, dict[str, Any]]]:
    """(user_id, ip, detail) of each record of ``event``, oldest first."""
    found = rows(server, "SELECT user_id, ip, detail FROM audit_events WHERE event = ? ORDER BY id", event)
    return [(user_id, ip, detail if isinstance(detail, dict) else json.loads(detail)) for user_id, ip, detail in found]


def user_id(server: LiveServer, email: str) -> int:
    [(found,)] = rows(server, "SELECT id FROM users WHERE email = ?", email)
    return int(found)
