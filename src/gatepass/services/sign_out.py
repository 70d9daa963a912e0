"""Signing a user out everywhere: after a password change, a reset or disabling the account."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol


class _Grants(Protocol):
    async def revoke_all_of_user(self, user_id: int, now: datetime) -> int: ...


class _Sessions(Protocol):
    async def delete_sessions_of(self, user_id: int) -> int: ...


class _Consents(Protocol):
    async def delete_consents_of(self, user_id: int) -> None: ...


class _Logouts(Protocol):
    async def every_session_ended(self, user_id: int) -> None: ...


class SignOutEverywhere:
    """Whoever held the old password (or the disabled account) may have opened sessions and allowed apps:
    end the sessions, revoke every grant, and forget the consents so every app must ask the user again.
    Apps with a back-channel logout URI are told, first: who to tell is read from the grants still live."""

    def __init__(
        self,
        grants: _Grants,
        sessions: _Sessions,
        consents: _Consents,
        clock: Callable[[], datetime],
        logouts: _Logouts,
    ):
        self._grants = grants
        self._logouts = logouts
        self._sessions = sessions
        self._consents = consents
        self._clock = clock

    async def __call__(self, user_id: int) -> None:
        await self._logouts.every_session_ended(user_id)
        await self._grants.revoke_all_of_user(user_id, self._clock())
        await self._sessions.delete_sessions_of(user_id)
        await self._consents.delete_consents_of(user_id)
