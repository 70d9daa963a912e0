"""One process of the cross-process writer test: many concurrent writes with SQLite's busy handler off.

Run as ``python sqlite_writer_process.py VAR_DIR LABEL COUNT``; exits non-zero if any write failed.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from sqlalchemy import event, text

from gatepass.config import load_settings
from gatepass.db.base import single_statement
from gatepass.db.engine import create_engine


def _no_busy_handler(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


async def write(var_dir: str, label: str, count: int) -> None:
    engine = create_engine(load_settings({"GATEPASS_SERVER_VAR_DIR": var_dir}))
    event.listen(engine.sync_engine, "connect", _no_busy_handler)

    async def one(n: int) -> None:
        async with single_statement(engine) as connection:
            await connection.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": f"{label} {n}"})

    try:
        await asyncio.gather(*(one(n) for n in range(count)))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(write(sys.argv[1], sys.argv[2], int(sys.argv[3])))
