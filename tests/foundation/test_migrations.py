"""Alembic migrations give the schema of gatepass.db.tables on an empty SQLite, PostgreSQL and MariaDB.

Migrations run up on an empty database of each kind, with the same schema.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from gatepass.config import load_settings
from gatepass.db.engine import create_engine
from gatepass.db.migrate import alembic_config, upgrade_to_head
from gatepass.db.tables import Base
from support.backends import BACKENDS, Database, backend_unavailable_reason, require_backend

ALEMBIC_TABLE = "alembic_version"


@dataclass(frozen=True)
class Schema:
    """What a migrated database holds, as the database itself reports it."""

    columns: dict[str, list[str]]
    primary_keys: dict[str, list[str]]
    unique_columns: dict[str, set[tuple[str, ...]]]
    revision: str | None
    differences_from_models: list[Any]


def _read_schema(connection: Connection) -> Schema:
    inspector = inspect(connection)
    tables = sorted(inspector.get_table_names())
    columns = {table: [column["name"] for column in inspector.get_columns(table)] for table in tables}
    primary_keys = {table: inspector.get_pk_constraint(table)["constrained_columns"] for table in tables}
    unique_columns: dict[str, set[tuple[str, ...]]] = {}
    for table in tables:
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
        # MariaDB reports unique constraints as unique indexes (and SQLite may too).
        uniques |= {tuple(str(name) for name in i["column_names"]) for i in inspector.get_indexes(table) if i["unique"]}
        unique_columns[table] = uniques
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    differences = compare_metadata(context, Base.metadata)
    return Schema(columns, primary_keys, unique_columns, context.get_current_revision(), differences)


async def _migrate_and_read(url: str, var_dir: Path, times: int) -> list[Schema]:
    settings = load_settings({"GATEPASS_DATABASE_URL": url, "GATEPASS_SERVER_VAR_DIR": str(var_dir)})
    engine = create_engine(settings)
    schemas = []
    try:
        for _ in range(times):
            await upgrade_to_head(engine)
            async with engine.connect() as connection:
                schemas.append(await connection.run_sync(_read_schema))
    finally:
        await engine.dispose()
    return schemas


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Schema]]]:
    """Each reachable backend: a new empty database, upgraded to head twice; the schema after each run."""
    results: dict[str, list[Schema]] = {}
    for backend in BACKENDS:
        if backend_unavailable_reason(backend) is not None:
            continue
        var_dir = tmp_path_factory.mktemp(f"migrate-{backend}")
        database = Database.create(backend, var_dir)
        try:
            results[backend] = asyncio.run(_migrate_and_read(database.url, var_dir, times=2))
        finally:
            database.drop()
    yield results


def _model_columns() -> dict[str, list[str]]:
    return {name: [column.name for column in table.columns] for name, table in Base.metadata.tables.items()}


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_on_an_empty_database_creates_every_table_and_column_of_the_models(
    backend: str, migrated: dict[str, list[Schema]]
) -> None:
    require_backend(backend)
    schema = migrated[backend][0]
    expected = _model_columns()
    assert sorted(schema.columns) == sorted([*expected, ALEMBIC_TABLE])
    for table, columns in expected.items():
        assert sorted(schema.columns[table]) == sorted(columns), table


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_leaves_no_difference_between_database_and_models(
    backend: str, migrated: dict[str, list[Schema]]
) -> None:
    require_backend(backend)
    assert migrated[backend][0].differences_from_models == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_stamps_the_newest_revision(backend: str, migrated: dict[str, list[Schema]]) -> None:
    require_backend(backend)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    assert migrated[backend][0].revision == head


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_upgrade_is_a_no_op(backend: str, migrated: dict[str, list[Schema]]) -> None:
    require_backend(backend)
    first, second = migrated[backend]
    assert second == first


def test_every_backend_gets_the_same_tables_columns_keys_and_unique_constraints(
    migrated: dict[str, list[Schema]],
) -> None:
    for backend in BACKENDS:
        require_backend(backend)
    sqlite = migrated["sqlite"][0]
    # The email is the login and `sub` never changes: both must be unique on every backend.
    assert {("email",), ("sub",)} <= sqlite.unique_columns["users"]
    assert ("client_id",) in sqlite.unique_columns["oauth_clients"]
    for backend in ("postgresql", "mariadb"):
        other = migrated[backend][0]
        assert other.columns.keys() == sqlite.columns.keys(), backend
        for table, columns in sqlite.columns.items():
            assert other.columns[table] == columns, (backend, table)
        assert other.primary_keys == sqlite.primary_keys, backend
        assert other.unique_columns == sqlite.unique_columns, backend
