"""Schema migrations through Alembic, driven from code (no alembic.ini to find)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported by the functions that use it: the CLI and `gatepass serve` migrate before the workers
# start, so a worker that never migrates does not carry it (about 10 MiB).

_MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the database to the newest schema; a no-op when it is already there."""

    def _upgrade(connection: object) -> None:
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def is_at_head(engine: AsyncEngine) -> bool:
    """Whether the database has the newest schema, read without changing anything."""

    def _is_at_head(connection: object) -> bool:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        current = set(MigrationContext.configure(connection).get_current_heads())  # type: ignore[arg-type]
        return current == set(ScriptDirectory.from_config(alembic_config()).get_heads())

    async with engine.connect() as connection:
        return await connection.run_sync(_is_at_head)
