"""Second factors: a user's authenticator-app secret (encrypted) and recovery codes (digests)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, union, update

from gatepass.db.base import StoreBase
from gatepass.db.tables import Passkey, RecoveryCode, Role, TotpFactor, UserRole
from gatepass.services.stores import TotpRecord


class SqlSecondFactorStore(StoreBase):
    async def get_totp(self, user_id: int) -> TotpRecord | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(TotpFactor.secret_encrypted, TotpFactor.last_used_step).where(TotpFactor.user_id == user_id)
                )
            ).one_or_none()
        return None if row is None else TotpRecord(row.secret_encrypted, row.last_used_step)

    async def save_totp(self, user_id: int, secret_encrypted: str, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))
            await session.execute(
                insert(TotpFactor).values(
                    user_id=user_id, secret_encrypted=secret_encrypted, last_used_step=None, created_at=now
                )
            )

    async def use_totp_step(self, user_id: int, step: int) -> bool:
        # RFC 6238 §5.2: a code is accepted once; moving the mark forward refuses this step and every earlier one.
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(TotpFactor)
                .where(
                    TotpFactor.user_id == user_id,
                    or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
                )
                .values(last_used_step=step)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def replace_recovery_codes(self, user_id: int, code_digests: tuple[str, ...], now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
            await session.execute(
                insert(RecoveryCode),
                [
                    {"user_id": user_id, "code_digest": digest, "created_at": now, "used_at": None}
                    for digest in code_digests
                ],
            )

    async def use_recovery_code(self, user_id: int, code_digest: str, now: datetime) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(RecoveryCode)
                .where(
                    RecoveryCode.user_id == user_id,
                    RecoveryCode.code_digest == code_digest,
                    RecoveryCode.used_at.is_(None),
                )
                .values(used_at=now)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def count_recovery_codes_left(self, user_id: int) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(RecoveryCode)
                .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            )
        return int(count or 0)

    async def delete_factors(self, user_id: int) -> bool:
        async with self._sessions() as session, session.begin():
            factors = await session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))
            codes = await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
            return bool(factors.rowcount or codes.rowcount)  # type: ignore[attr-defined]

    async def has_enrolled_user_with_role(self, role: str) -> bool:
        """Whether a holder of ``role`` has an authenticator app or a passkey."""
        with_factor = union(
            select(TotpFactor.user_id), select(Passkey.user_id).where(Passkey.removed_at.is_(None))
        ).subquery()
        async with self._sessions() as session:
            found = await session.scalar(
                select(with_factor.c.user_id)
                .join(UserRole, UserRole.user_id == with_factor.c.user_id)
                .join(Role, Role.id == UserRole.role_id)
                .where(Role.name == role)
                .limit(1)
            )
        return found is not None


__all__ = ["SqlSecondFactorStore"]
