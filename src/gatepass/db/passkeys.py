"""Passkeys (WebAuthn credentials) and the challenges of their ceremonies, each challenge used at most once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gatepass.db.base import StoreBase, single_statement
from gatepass.db.tables import Passkey, PasskeyChallenge
from gatepass.services.stores import NewPasskey, PasskeyChallengeRecord, PasskeyRecord

_passkeys: Table = Passkey.__table__  # type: ignore[assignment]
_challenges: Table = PasskeyChallenge.__table__  # type: ignore[assignment]
_live = _passkeys.c.removed_at.is_(None)


def _record(row: Any) -> PasskeyRecord:
    return PasskeyRecord(
        id=row.id, user_id=row.user_id, credential_id=row.credential_id, public_key=row.public_key,
        sign_count=row.sign_count, transports=tuple(filter(None, row.transports.split(","))), aaguid=row.aaguid,
        is_backup_eligible=bool(row.is_backup_eligible), is_backed_up=bool(row.is_backed_up), name=row.name,
        created_at=row.created_at, last_used_at=row.last_used_at, removed_at=row.removed_at,
    )  # fmt: skip


class SqlPasskeyStore(StoreBase):
    async def add_passkey(self, passkey: NewPasskey, now: datetime) -> bool:
        values = {
            "user_id": passkey.user_id, "credential_digest": passkey.credential_digest,
            "credential_id": passkey.credential_id, "public_key": passkey.public_key,
            "sign_count": passkey.sign_count, "transports": ",".join(passkey.transports), "aaguid": passkey.aaguid,
            "is_backup_eligible": passkey.is_backup_eligible, "is_backed_up": passkey.is_backed_up,
            "name": passkey.name, "created_at": now, "last_used_at": None, "removed_at": None,
        }  # fmt: skip
        try:
            async with single_statement(self._engine) as connection:
                await connection.execute(insert(_passkeys).values(values))
        except IntegrityError:
            return False
        return True

    async def get_passkey(self, credential_digest: str) -> PasskeyRecord | None:
        async with single_statement(self._engine) as connection:
            row = (
                await connection.execute(select(_passkeys).where(_passkeys.c.credential_digest == credential_digest))
            ).one_or_none()
        return None if row is None else _record(row)

    async def list_passkeys(self, user_id: int) -> list[PasskeyRecord]:
        async with single_statement(self._engine) as connection:
            rows = await connection.execute(
                select(_passkeys).where(_passkeys.c.user_id == user_id, _live).order_by(_passkeys.c.id)
            )
            return [_record(row) for row in rows]

    async def count_passkeys(self, user_id: int) -> int:
        async with single_statement(self._engine) as connection:
            count = await connection.scalar(
                select(func.count()).select_from(_passkeys).where(_passkeys.c.user_id == user_id, _live)
            )
        return int(count or 0)

    async def rename_passkey(self, user_id: int, passkey_id: int, name: str) -> bool:
        return await self._update_live_passkey(user_id, passkey_id, name=name)

    async def remove_passkey(self, user_id: int, passkey_id: int, now: datetime) -> bool:
        return await self._update_live_passkey(user_id, passkey_id, removed_at=now)

    async def _update_live_passkey(self, user_id: int, passkey_id: int, **values: object) -> bool:
        """Change one of the user's passkeys that is not removed; False when there is none such."""
        async with single_statement(self._engine) as connection:
            result = await connection.execute(
                update(_passkeys)
                .where(_passkeys.c.id == passkey_id, _passkeys.c.user_id == user_id, _live)
                .values(**values)
            )
            return bool(result.rowcount)

    async def remove_passkeys(self, user_id: int, now: datetime) -> int:
        async with single_statement(self._engine) as connection:
            result = await connection.execute(
                update(_passkeys).where(_passkeys.c.user_id == user_id, _live).values(removed_at=now)
            )
            return int(result.rowcount)

    async def use_passkey(self, passkey_id: int, sign_count: int, is_backed_up: bool, now: datetime) -> bool:
        # WebAuthn §6.1.1: a counter that does not grow may be a cloned authenticator; 0 and 0 means none.
        moves_forward = _passkeys.c.sign_count == 0 if sign_count == 0 else _passkeys.c.sign_count < sign_count
        async with single_statement(self._engine) as connection:
            result = await connection.execute(
                update(_passkeys)
                .where(_passkeys.c.id == passkey_id, _live, moves_forward)
                .values(sign_count=sign_count, is_backed_up=is_backed_up, last_used_at=now)
            )
            return bool(result.rowcount)

    async def add_challenge(
        self, challenge_digest: str, binding_digest: str, purpose: str, user_id: int | None, expires_at: datetime
    ) -> None:
        values = {
            "challenge_digest": challenge_digest, "binding_digest": binding_digest, "purpose": purpose,
            "user_id": user_id, "expires_at": expires_at, "used_at": None,
        }  # fmt: skip
        async with single_statement(self._engine) as connection:
            await connection.execute(insert(_challenges).values(values))

    async def consume_challenge(self, challenge_digest: str, now: datetime) -> PasskeyChallengeRecord | None:
        async with single_statement(self._engine) as connection:
            used = await connection.execute(
                update(_challenges)
                .where(_challenges.c.challenge_digest == challenge_digest, _challenges.c.used_at.is_(None))
                .values(used_at=now)
            )
        async with single_statement(self._engine) as connection:
            row = (
                await connection.execute(select(_challenges).where(_challenges.c.challenge_digest == challenge_digest))
            ).one_or_none()
        if row is None:
            return None
        return PasskeyChallengeRecord(
            row.purpose, row.user_id, row.binding_digest, row.expires_at, None if used.rowcount else row.used_at
        )

    async def purge_expired(self, now: datetime) -> int:
        async with single_statement(self._engine) as connection:
            result = await connection.execute(delete(_challenges).where(_challenges.c.expires_at <= now))
            return int(result.rowcount)


__all__ = ["SqlPasskeyStore"]
