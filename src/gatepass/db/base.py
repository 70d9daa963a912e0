"""Shared plumbing for the store classes."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatepass.services.stores import Conflict


class StoreBase:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions


def conflict_from(exc: IntegrityError, what: str) -> Conflict:
    return Conflict(f"{what} already exists")
