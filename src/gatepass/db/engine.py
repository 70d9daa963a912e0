"""Async engine and session factory for SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from gatepass.config import Settings

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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; busy_timeout queues writers instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    url = database_url(settings)
    options: dict[str, Any] = {"echo": settings.database.echo, "pool_pre_ping": True}
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # pool_timeout: when the database is gone, fail within seconds instead of queueing for 30.
    options.update(pool_size=settings.database.pool_size, max_overflow=settings.database.pool_size, pool_recycle=1800,
                   pool_timeout=5)
    if url.get_backend_name() == "postgresql":
        options["connect_args"] = {"timeout": 5, "command_timeout": 15}
    else:
        options["connect_args"] = {"connect_timeout": 5}
    return create_async_engine(url, **options)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
