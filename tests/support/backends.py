"""The databases tests run on: which backends are reachable, a fresh database on each, and what a missing one means.

SQLite always runs. PostgreSQL and MariaDB run when reachable; under CI=true a missing one fails the run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

IS_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ("sqlite", "postgresql", "mariadb")
#: Where the end-to-end flows of a feature run when its store has contract tests on all three backends
#: (tests/stores/): the flows prove the feature through HTTP and the browser, the contract tests prove each
#: statement on each database. Running every flow on all three tripled the suite's slowest tests for no
#: assertion the contract tests do not already make.
FLOW_BACKENDS = ("sqlite",)
POSTGRES_URL = os.environ.get("GATEPASS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("GATEPASS_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def backend_unavailable_reason(backend: str) -> str | None:
    if backend == "postgresql" and not _port_open("127.0.0.1", 5432):
        return "PostgreSQL is not reachable on 127.0.0.1:5432"
    if backend == "mariadb" and not _port_open("127.0.0.1", 3306):
        return "MariaDB is not reachable on 127.0.0.1:3306"
    return None


def require(reason: str | None) -> None:
    """Skip for a missing service on a laptop; under CI=true a missing service is a failure."""
    if reason is None:
        return
    if IS_CI:
        pytest.fail(f"CI requires this, but: {reason}")
    pytest.skip(reason)


def require_backend(backend: str) -> None:
    """require() the backend's database server."""
    require(backend_unavailable_reason(backend))


def _run_admin_sql(backend: str, statement: str) -> None:
    """Run in a thread of its own, so it works from sync and async tests alike."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _admin_sql(backend, statement)).result()


async def _admin_sql(backend: str, statement: str) -> None:
    if backend == "postgresql":
        import asyncpg

        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()
    else:
        import aiomysql

        connection = await aiomysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(statement)
        finally:
            connection.close()


@dataclass
class Database:
    """A database of its own on one backend: a file in the server's folder, or a new PostgreSQL/MariaDB database."""

    backend: str
    url: str
    name: str | None = None

    @classmethod
    def create(cls, backend: str, var_dir: Path) -> Database:
        if backend == "sqlite":
            return cls(backend, f"sqlite:///{var_dir / 'gatepass.db'}")
        name = f"gp_{secrets.token_hex(6)}"
        _run_admin_sql(backend, f"CREATE DATABASE {name}")
        base = POSTGRES_URL if backend == "postgresql" else MARIADB_URL
        return cls(backend, base.rsplit("/", 1)[0] + "/" + name, name)

    def drop(self) -> None:
        if self.name:
            statement = f"DROP DATABASE IF EXISTS {self.name}"
            if self.backend == "postgresql":
                statement += " WITH (FORCE)"
            _run_admin_sql(self.backend, statement)
