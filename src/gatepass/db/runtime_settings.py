"""Settings an admin changes while the server runs (console, CLI), seen by every worker through the read cache."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, select

from gatepass.db.base import StoreBase
from gatepass.db.driver import DriverStatement
from gatepass.db.tables import RuntimeSetting

_settings: Table = RuntimeSetting.__table__  # type: ignore[assignment]
#: Read on most requests; with the read cache off (PostgreSQL without Redis), on every one of them.
_ALL_SETTINGS = DriverStatement(select(_settings.c.key, _settings.c.value), "runtime settings")


class SqlSettingsStore(StoreBase):
    async def get_runtime_settings(self) -> dict[str, Any]:
        cached = await self._cache.get("runtime_settings", self._load_runtime_settings)
        return dict(cached or {})

    async def _load_runtime_settings(self) -> dict[str, Any]:
        return {row.key: row.value.get("value") for row in await self._read_all(_ALL_SETTINGS, {})}

    async def set_runtime_setting(self, key: str, value: Any, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(RuntimeSetting, key, with_for_update=True)
            if row is None:
                session.add(RuntimeSetting(key=key, value={"value": value}, updated_at=now))
            else:
                row.value = {"value": value}
                row.updated_at = now
