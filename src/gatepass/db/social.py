"""Upstream login providers, the external identities linked to users, and started login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from gatepass.db.base import StoreBase, conflict_from
from gatepass.db.tables import ExternalIdentity, LoginProvider, SocialLoginAttempt
from gatepass.services.stores import (
    ExternalIdentityRecord,
    LoginAttemptRecord,
    NewLoginAttempt,
    NotFound,
    ProviderConfig,
    ProviderRecord,
)


def _provider_record(row: LoginProvider) -> ProviderRecord:
    config = ProviderConfig(
        name=row.name,
        display_name=row.display_name,
        preset=row.preset,
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret_encrypted=row.client_secret_encrypted,
        scopes=tuple(row.scopes),
        is_enabled=row.is_enabled,
        allow_signup=row.allow_signup,
        allow_unverified_email=row.allow_unverified_email,
        default_roles=tuple(row.default_roles),
        role_map=tuple((str(remote), str(local)) for remote, local in row.role_map),
        role_sync=row.role_sync,
        trust_amr=row.trust_amr,
    )
    return ProviderRecord(row.id, config, row.created_at, row.updated_at)


def _apply(row: LoginProvider, config: ProviderConfig) -> None:
    row.display_name = config.display_name
    row.preset = config.preset
    row.issuer = config.issuer
    row.client_id = config.client_id
    row.client_secret_encrypted = config.client_secret_encrypted
    row.scopes = list(config.scopes)
    row.is_enabled = config.is_enabled
    row.allow_signup = config.allow_signup
    row.allow_unverified_email = config.allow_unverified_email
    row.default_roles = list(config.default_roles)
    row.role_map = [[remote, local] for remote, local in config.role_map]
    row.role_sync = config.role_sync
    row.trust_amr = config.trust_amr


class SqlProviderStore(StoreBase):
    async def get_provider(self, name: str) -> ProviderRecord | None:
        async with self._sessions() as session:
            row = (await session.execute(select(LoginProvider).where(LoginProvider.name == name))).scalar_one_or_none()
            return None if row is None else _provider_record(row)

    async def list_providers(self) -> list[ProviderRecord]:
        async with self._sessions() as session:
            rows = (await session.execute(select(LoginProvider).order_by(LoginProvider.name))).scalars()
            return [_provider_record(row) for row in rows]

    async def add_provider(self, config: ProviderConfig, now: datetime) -> ProviderRecord:
        row = LoginProvider(name=config.name, created_at=now, updated_at=now)
        _apply(row, config)
        async with self._sessions() as session:
            try:
                async with session.begin():
                    session.add(row)
            except IntegrityError as exc:
                raise conflict_from(exc, f"A provider named {config.name!r}") from None
        return _provider_record(row)

    async def update_provider(self, config: ProviderConfig, now: datetime) -> ProviderRecord:
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(select(LoginProvider).where(LoginProvider.name == config.name).with_for_update())
            ).scalar_one_or_none()
            if row is None:
                raise NotFound(f"no provider is named {config.name!r}")
            _apply(row, config)
            row.updated_at = now
            return _provider_record(row)

    async def delete_provider(self, name: str) -> bool:
        async with self._sessions() as session, session.begin():
            row = (await session.execute(select(LoginProvider).where(LoginProvider.name == name))).scalar_one_or_none()
            if row is None:
                return False
            # Explicit, not only ON DELETE CASCADE: SQLite enforces foreign keys only when asked to.
            await session.execute(delete(ExternalIdentity).where(ExternalIdentity.provider_id == row.id))
            await session.execute(delete(LoginProvider).where(LoginProvider.id == row.id))
            return True


class SqlExternalIdentityStore(StoreBase):
    async def get_identity(self, provider_id: int, subject: str) -> ExternalIdentityRecord | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(ExternalIdentity).where(
                        ExternalIdentity.provider_id == provider_id, ExternalIdentity.subject == subject
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                return None
            return ExternalIdentityRecord(
                row.provider_id, row.subject, row.user_id, row.email, row.created_at, row.last_login_at
            )

    async def add_identity(
        self, provider_id: int, subject: str, user_id: int, email: str | None, now: datetime
    ) -> None:
        async with self._sessions() as session:
            try:
                async with session.begin():
                    session.add(
                        ExternalIdentity(
                            provider_id=provider_id,
                            subject=subject,
                            user_id=user_id,
                            email=email,
                            created_at=now,
                            last_login_at=now,
                        )
                    )
            except IntegrityError as exc:
                raise conflict_from(exc, "This provider account's link") from None

    async def touch_identity(self, provider_id: int, subject: str, email: str | None, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(ExternalIdentity)
                .where(ExternalIdentity.provider_id == provider_id, ExternalIdentity.subject == subject)
                .values(email=email, last_login_at=now)
            )


class SqlLoginAttemptStore(StoreBase):
    async def add_attempt(self, attempt: NewLoginAttempt) -> None:
        async with self._sessions() as session, session.begin():
            session.add(
                SocialLoginAttempt(
                    state_digest=attempt.state_digest,
                    provider_name=attempt.provider_name,
                    browser_digest=attempt.browser_digest,
                    nonce=attempt.nonce,
                    code_verifier_encrypted=attempt.code_verifier_encrypted,
                    next_url=attempt.next_url,
                    created_at=attempt.created_at,
                    expires_at=attempt.expires_at,
                )
            )

    async def consume_attempt(self, state_digest: str, now: datetime) -> LoginAttemptRecord | None:
        """Atomic single use: only the caller whose UPDATE changed the row gets it back."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(SocialLoginAttempt)
                .where(SocialLoginAttempt.state_digest == state_digest, SocialLoginAttempt.consumed_at.is_(None))
                .values(consumed_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = (
                await session.execute(select(SocialLoginAttempt).where(SocialLoginAttempt.state_digest == state_digest))
            ).scalar_one()
            return LoginAttemptRecord(
                provider_name=row.provider_name,
                browser_digest=row.browser_digest,
                nonce=row.nonce,
                code_verifier_encrypted=row.code_verifier_encrypted,
                next_url=row.next_url,
                created_at=row.created_at,
                expires_at=row.expires_at,
            )

    async def purge_attempts(self, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            result = await session.execute(delete(SocialLoginAttempt).where(SocialLoginAttempt.expires_at <= now))
            return int(result.rowcount)  # type: ignore[attr-defined]
