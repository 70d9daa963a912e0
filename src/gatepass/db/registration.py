"""Initial access tokens for dynamic client registration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from gatepass.db.base import StoreBase
from gatepass.db.tables import InitialAccessToken


class SqlRegistrationStore(StoreBase):
    async def add_initial_token(
        self, token_digest: str, description: str, now: datetime, expires_at: datetime, uses: int
    ) -> None:
        async with self._sessions() as session, session.begin():
            session.add(
                InitialAccessToken(
                    token_digest=token_digest,
                    description=description,
                    created_at=now,
                    expires_at=expires_at,
                    uses_left=uses,
                )
            )

    async def consume_initial_token(self, token_digest: str, now: datetime) -> bool:
        """One use of the token, atomically: False when unknown, expired or used up."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(InitialAccessToken)
                .where(
                    InitialAccessToken.token_digest == token_digest,
                    InitialAccessToken.uses_left > 0,
                    InitialAccessToken.expires_at > now,
                )
                .values(uses_left=InitialAccessToken.uses_left - 1)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]
