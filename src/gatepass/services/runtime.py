"""Runtime settings: what admins change while the server runs, shared by every worker.

Read from the database on each use (a primary-key read of a tiny table), so a change made
through one worker is seen by every other worker on its next request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gatepass.protocol.errors import OAuthError
from gatepass.protocol.params import parse_scope
from gatepass.services.accounts import AccountError
from gatepass.services.stores import SettingsStore


@dataclass(frozen=True)
class RuntimeSetting:
    key: str
    default: Any
    choices: tuple[Any, ...] | None
    doc: str


RUNTIME_SETTINGS = (
    RuntimeSetting(
        "consent_mode",
        "auto",
        ("auto", "force"),
        "auto: skip the consent screen when the user already granted this client these scopes; force: always ask.",
    ),
    RuntimeSetting(
        "registration_mode",
        "off",
        ("off", "open", "token"),
        "Dynamic client registration (RFC 7591): off; open to anyone (rate-limited per IP); "
        "or token: only with an initial access token from `gatepass registration token`.",
    ),
    RuntimeSetting(
        "registration_scopes",
        "openid profile email",
        None,
        "The scopes a dynamically registered client may ask for (space-separated); more are dropped.",
    ),
    RuntimeSetting(
        "two_factor_required",
        "admins",
        ("admins", "roles", "everyone", "off"),
        "Who must log in with a second factor (and is led to set one up at their next login): admins: "
        "System Managers, once one of them has set one up; roles: holders of the roles in two_factor_roles; "
        "everyone; off.",
    ),
    RuntimeSetting(
        "two_factor_roles",
        "System Manager",
        None,
        "With two_factor_required=roles: the roles whose holders must use a second factor, comma-separated.",
    ),
)
_BY_KEY = {setting.key: setting for setting in RUNTIME_SETTINGS}


class RuntimeSettingsService:
    def __init__(self, store: SettingsStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    async def all(self) -> dict[str, Any]:
        stored = await self._store.get_runtime_settings()
        return {key: stored.get(key, setting.default) for key, setting in _BY_KEY.items()}

    async def get(self, key: str) -> Any:
        return (await self.all())[key]

    async def set(self, key: str, raw: str) -> Any:
        setting = _BY_KEY.get(key)
        if setting is None:
            raise AccountError(f"Unknown setting '{key}'; known: {', '.join(_BY_KEY)}", field="key")
        value: Any = raw.strip()
        if setting.choices is not None:
            value = value.lower()
        elif key == "registration_scopes":
            try:
                value = " ".join(parse_scope(value))
            except OAuthError as exc:
                raise AccountError(exc.description, field=key) from None
        elif key == "two_factor_roles":
            value = ", ".join(dict.fromkeys(role.strip() for role in value.split(",") if role.strip()))
            if not value:
                raise AccountError("two_factor_roles needs at least one role name", field=key)
        if setting.choices is not None and value not in setting.choices:
            raise AccountError(f"{key} must be one of {', '.join(map(str, setting.choices))}", field=key)
        await self._store.set_runtime_setting(key, value, self._clock())
        return value
