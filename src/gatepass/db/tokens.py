"""Authorization codes, grants and their access and refresh tokens.

Single use is one conditional UPDATE whose row count says who won (never read-then-write).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatepass.db.base import StoreBase
from gatepass.db.tables import AccessToken, AuthorizationCode, OAuthClient, RefreshToken, TokenGrant, User
from gatepass.protocol.values import CodeRecord, RefreshRecord
from gatepass.services.stores import AccessTokenRecord, GrantSummary, NewCode, NewGrant


class SqlCodeStore(StoreBase):
    async def add_code(self, code: NewCode) -> int:
        row = AuthorizationCode(
            code_digest=code.code_digest,
            client_id=code.client_id,
            user_id=code.user_id,
            redirect_uri=code.redirect_uri,
            redirect_uri_was_sent=code.redirect_uri_was_sent,
            scopes=list(code.scopes),
            code_challenge=code.code_challenge,
            code_challenge_method=code.code_challenge_method,
            nonce=code.nonce,
            resource=code.resource,
            auth_time=code.auth_time,
            created_at=code.created_at,
            expires_at=code.expires_at,
        )
        async with self._sessions() as session, session.begin():
            session.add(row)
            await session.flush()
            return row.id

    async def get_code(self, code_digest: str) -> CodeRecord | None:
        async with self._sessions() as session:
            row = (
                await session.execute(select(AuthorizationCode).where(AuthorizationCode.code_digest == code_digest))
            ).scalar_one_or_none()
            if row is None:
                return None
            return CodeRecord(
                code_id=row.id,
                client_id=row.client_id,
                user_id=row.user_id,
                redirect_uri=row.redirect_uri,
                redirect_uri_was_sent=row.redirect_uri_was_sent,
                scopes=tuple(row.scopes),
                code_challenge=row.code_challenge,
                code_challenge_method=row.code_challenge_method,
                nonce=row.nonce,
                auth_time=row.auth_time,
                expires_at=row.expires_at,
                consumed_at=row.consumed_at,
                resource=row.resource,
            )

    async def consume_code(self, code_id: int, now: datetime) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(AuthorizationCode)
                .where(AuthorizationCode.id == code_id, AuthorizationCode.consumed_at.is_(None))
                .values(consumed_at=now)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def _revoke_grants(session: AsyncSession, grant_ids: list[int], now: datetime) -> None:
    if not grant_ids:
        return
    await session.execute(
        update(TokenGrant).where(TokenGrant.id.in_(grant_ids), TokenGrant.revoked_at.is_(None)).values(revoked_at=now)
    )
    await session.execute(
        update(AccessToken)
        .where(AccessToken.grant_id.in_(grant_ids), AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.grant_id.in_(grant_ids), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


class SqlTokenStore(StoreBase):
    async def add_grant(self, grant: NewGrant) -> int:
        row = TokenGrant(
            client_id=grant.client_id,
            user_id=grant.user_id,
            grant_type=grant.grant_type,
            scopes=list(grant.scopes),
            code_id=grant.code_id,
            nonce=grant.nonce,
            resource=grant.resource,
            auth_time=grant.auth_time,
            created_at=grant.created_at,
            expires_at=grant.expires_at,
            last_used_at=grant.created_at,
        )
        async with self._sessions() as session, session.begin():
            session.add(row)
            await session.flush()
            return row.id

    async def add_grant_with_tokens(
        self, grant: NewGrant, access_digest: str, access_expires_at: datetime, refresh_digest: str | None
    ) -> int:
        """One transaction for the grant and its first tokens: never a token without its grant."""
        async with self._sessions() as session, session.begin():
            row = TokenGrant(
                client_id=grant.client_id,
                user_id=grant.user_id,
                grant_type=grant.grant_type,
                scopes=list(grant.scopes),
                code_id=grant.code_id,
                nonce=grant.nonce,
                resource=grant.resource,
                auth_time=grant.auth_time,
                created_at=grant.created_at,
                expires_at=grant.expires_at,
                last_used_at=grant.created_at,
            )
            session.add(row)
            await session.flush()
            session.add(
                AccessToken(
                    token_digest=access_digest,
                    grant_id=row.id,
                    client_id=grant.client_id,
                    user_id=grant.user_id,
                    scopes=list(grant.scopes),
                    resource=grant.resource,
                    created_at=grant.created_at,
                    expires_at=access_expires_at,
                )
            )
            if refresh_digest is not None:
                session.add(RefreshToken(token_digest=refresh_digest, grant_id=row.id, created_at=grant.created_at))
            return row.id

    async def rotate_refresh(
        self,
        *,
        grant_id: int,
        refresh_id: int,
        client_id: str,
        user_id: int | None,
        scopes: tuple[str, ...],
        resource: str | None,
        access_digest: str,
        access_expires_at: datetime,
        new_refresh_digest: str,
        now: datetime,
    ) -> bool:
        """Atomically retire one refresh token and issue its successors; False if someone else won."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.id == refresh_id, RefreshToken.rotated_at.is_(None), RefreshToken.revoked_at.is_(None)
                )
                .values(rotated_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            # The access tokens issued before this refresh are superseded (Frappe PR #40968 did the same).
            await session.execute(
                update(AccessToken)
                .where(AccessToken.grant_id == grant_id, AccessToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            session.add(
                AccessToken(
                    token_digest=access_digest,
                    grant_id=grant_id,
                    client_id=client_id,
                    user_id=user_id,
                    scopes=list(scopes),
                    resource=resource,
                    created_at=now,
                    expires_at=access_expires_at,
                )
            )
            session.add(RefreshToken(token_digest=new_refresh_digest, grant_id=grant_id, created_at=now))
            await session.execute(update(TokenGrant).where(TokenGrant.id == grant_id).values(last_used_at=now))
            return True

    async def add_access_token(
        self,
        grant_id: int,
        token_digest: str,
        client_id: str,
        user_id: int | None,
        scopes: tuple[str, ...],
        resource: str | None,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        async with self._sessions() as session, session.begin():
            session.add(
                AccessToken(
                    token_digest=token_digest,
                    grant_id=grant_id,
                    client_id=client_id,
                    user_id=user_id,
                    scopes=list(scopes),
                    resource=resource,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    async def add_refresh_token(self, grant_id: int, token_digest: str, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            session.add(RefreshToken(token_digest=token_digest, grant_id=grant_id, created_at=now))

    async def get_access_token(self, token_digest: str) -> AccessTokenRecord | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(
                        AccessToken.id,
                        AccessToken.grant_id,
                        AccessToken.client_id,
                        AccessToken.user_id,
                        AccessToken.scopes,
                        AccessToken.resource,
                        AccessToken.created_at,
                        AccessToken.expires_at,
                        AccessToken.revoked_at,
                    ).where(AccessToken.token_digest == token_digest)
                )
            ).one_or_none()
            if row is None:
                return None
            return AccessTokenRecord(row[0], row[1], row[2], row[3], tuple(row[4]), row[5], row[6], row[7], row[8])

    async def get_refresh_token(self, token_digest: str) -> RefreshRecord | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(RefreshToken, TokenGrant)
                    .join(TokenGrant, TokenGrant.id == RefreshToken.grant_id)
                    .where(RefreshToken.token_digest == token_digest)
                )
            ).one_or_none()
            if row is None:
                return None
            refresh, grant = row
            return RefreshRecord(
                refresh_id=refresh.id,
                family_id=grant.id,
                client_id=grant.client_id,
                user_id=grant.user_id,
                scopes=tuple(grant.scopes),
                expires_at=grant.expires_at,
                rotated_at=refresh.rotated_at,
                revoked_at=refresh.revoked_at or grant.revoked_at,
                auth_time=grant.auth_time,
                nonce=grant.nonce,
                resource=grant.resource,
            )

    async def consume_refresh_token(self, refresh_id: int, now: datetime) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(RefreshToken)
                .where(RefreshToken.id == refresh_id, RefreshToken.rotated_at.is_(None))
                .values(rotated_at=now)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def revoke_grant(self, grant_id: int, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            await _revoke_grants(session, [grant_id], now)

    async def revoke_grants_from_code(self, code_id: int, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            ids = list((await session.execute(select(TokenGrant.id).where(TokenGrant.code_id == code_id))).scalars())
            await _revoke_grants(session, ids, now)
            return len(ids)

    async def revoke_grants_of(self, user_id: int, client_id: str, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            ids = list(
                (
                    await session.execute(
                        select(TokenGrant.id).where(
                            TokenGrant.user_id == user_id,
                            TokenGrant.client_id == client_id,
                            TokenGrant.revoked_at.is_(None),
                        )
                    )
                ).scalars()
            )
            await _revoke_grants(session, ids, now)
            return len(ids)

    async def revoke_all_of_user(self, user_id: int, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            ids = list(
                (
                    await session.execute(
                        select(TokenGrant.id).where(TokenGrant.user_id == user_id, TokenGrant.revoked_at.is_(None))
                    )
                ).scalars()
            )
            await _revoke_grants(session, ids, now)
            return len(ids)

    async def touch_grant(self, grant_id: int, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(update(TokenGrant).where(TokenGrant.id == grant_id).values(last_used_at=now))

    async def list_active_grants(
        self, now: datetime, *, user_id: int | None = None, client_id: str | None = None
    ) -> list[GrantSummary]:
        query = (
            select(TokenGrant, OAuthClient.app_name, User.email)
            .join(OAuthClient, OAuthClient.client_id == TokenGrant.client_id)
            .outerjoin(User, User.id == TokenGrant.user_id)
            .where(TokenGrant.revoked_at.is_(None), TokenGrant.expires_at > now)
            .order_by(TokenGrant.created_at.desc())
        )
        if user_id is not None:
            query = query.where(TokenGrant.user_id == user_id)
        if client_id is not None:
            query = query.where(TokenGrant.client_id == client_id)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
            return [
                GrantSummary(
                    grant.id,
                    grant.client_id,
                    app_name,
                    grant.user_id,
                    email,
                    tuple(grant.scopes),
                    grant.created_at,
                    grant.last_used_at,
                    grant.expires_at,
                )
                for grant, app_name, email in rows
            ]

    async def purge_expired(self, now: datetime) -> int:
        """Delete what can never be valid again: expired or revoked grants, used or expired codes."""
        async with self._sessions() as session, session.begin():
            grants = await session.execute(
                delete(TokenGrant).where(or_(TokenGrant.expires_at <= now, TokenGrant.revoked_at.is_not(None)))
            )
            tokens = await session.execute(
                delete(AccessToken).where(or_(AccessToken.expires_at <= now, AccessToken.revoked_at.is_not(None)))
            )
            # Rotated refresh tokens stay until their grant goes, so a replay is still detected.
            codes = await session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at <= now))
            return sum(int(result.rowcount) for result in (grants, tokens, codes))  # type: ignore[attr-defined]
