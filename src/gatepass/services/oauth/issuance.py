"""Issuing tokens for a grant: lifetimes per client, the grant and its tokens written in one transaction,
the id_token when the scopes ask for one, and the audit event.

Every grant and the implicit response issue through one ``TokenIssuer``; the id_token issuer is a
constructor argument, so an issuer without one cannot be built.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from gatepass.protocol.rfc6749.authorization_code import CodeReused
from gatepass.protocol.tokens import new_token, token_digest
from gatepass.protocol.values import GRANT_CLIENT_CREDENTIALS, ClientInfo, IssuedTokens
from gatepass.services import audit
from gatepass.services.crypto import InstanceKeys
from gatepass.services.oauth.jwt_access_tokens import JwtAccessTokens, MintedAccessToken
from gatepass.services.oauth.stores import GrantTokenStore
from gatepass.services.stores import ClientRecord, NewGrant, UserRecord


class IdTokenIssuer(Protocol):
    async def issue_id_token(
        self,
        client: ClientRecord,
        user: UserRecord,
        scopes: tuple[str, ...],
        *,
        nonce: str | None,
        auth_time: datetime | None,
        access_token: str | None,
        code: str | None = None,
    ) -> str: ...


class TokenIssuer:
    def __init__(
        self,
        *,
        tokens: GrantTokenStore,
        id_tokens: IdTokenIssuer,
        keys: InstanceKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        access_token_ttl_seconds: int,
        refresh_token_ttl_seconds: int,
        jwt_access_tokens: JwtAccessTokens | None = None,
    ) -> None:
        self._tokens = tokens
        self._id_tokens = id_tokens
        self._keys = keys
        self._audit = audit_log
        self._clock = clock
        self._access_ttl = access_token_ttl_seconds
        self._refresh_ttl = refresh_token_ttl_seconds
        self._jwts = jwt_access_tokens

    def digest(self, token: str) -> str:
        return token_digest(self._keys.digest_key, token)

    async def new_access_token(
        self,
        client: ClientInfo,
        user: UserRecord | None,
        grant_type: str,
        scopes: tuple[str, ...],
        *,
        resource: str | None,
        auth_time: datetime | None,
    ) -> MintedAccessToken:
        """An opaque token, or an RFC 9068 JWT for a client (or a server) that issues those."""
        if self._jwts is None or not self._jwts.is_jwt_for(client):
            token = new_token()
            return MintedAccessToken(token, self.digest(token))
        return await self._jwts.mint(
            client,
            user,
            grant_type,
            scopes,
            resource=resource,
            auth_time=auth_time,
            ttl_seconds=self.access_ttl_for(client),
        )

    def writes_no_grant(self, client: ClientInfo, grant_type: str) -> bool:
        """A client-credentials JWT is checked by its signature and the revocation list: no row to write."""
        return grant_type == GRANT_CLIENT_CREDENTIALS and self._jwts is not None and self._jwts.is_jwt_for(client)

    def access_ttl_for(self, client: ClientInfo) -> int:
        return client.access_token_ttl_seconds or self._access_ttl

    def refresh_ttl_for(self, client: ClientInfo) -> int:
        return client.refresh_token_ttl_seconds or self._refresh_ttl

    async def id_token_for(
        self,
        client: ClientRecord,
        user: UserRecord | None,
        scopes: tuple[str, ...],
        *,
        nonce: str | None,
        auth_time: datetime | None,
        access_token: str,
    ) -> str | None:
        """An id_token beside the access token when the grant acts for a user and has openid (OIDC Core §3.1.3.3)."""
        if user is None or "openid" not in scopes:
            return None
        return await self._id_tokens.issue_id_token(
            client, user, scopes, nonce=nonce, auth_time=auth_time, access_token=access_token
        )

    async def issue(
        self,
        client: ClientRecord,
        user: UserRecord | None,
        grant_type: str,
        scopes: tuple[str, ...],
        *,
        code_id: int | None = None,
        nonce: str | None = None,
        auth_time: datetime | None = None,
        resource: str | None = None,
        with_refresh: bool,
        with_id_token: bool,
    ) -> IssuedTokens:
        """A new grant with its access token (and refresh token), in one transaction with its code's consumption.

        Raises CodeReused when the code was consumed first by another request.
        """
        now = self._clock()
        info = client.info
        access = await self.new_access_token(info, user, grant_type, scopes, resource=resource, auth_time=auth_time)
        access_token = access.token
        refresh_token = new_token() if with_refresh else None
        ttl = self.access_ttl_for(info)
        if self.writes_no_grant(info, grant_type) and not with_refresh:
            await self._audit.record(
                audit.TOKEN_ISSUED,
                user_id=user.id if user else None,
                client_id=info.client_id,
                grant_type=grant_type,
                scope=" ".join(scopes),
            )
            return IssuedTokens(access_token, ttl, scopes)
        issued_event = self._audit.prepare(
            audit.TOKEN_ISSUED,
            user_id=user.id if user else None,
            client_id=info.client_id,
            grant_type=grant_type,
            scope=" ".join(scopes),
        )
        grant_id = await self._tokens.add_grant_with_tokens(
            NewGrant(
                client_id=info.client_id,
                user_id=user.id if user else None,
                grant_type=grant_type,
                scopes=scopes,
                code_id=code_id,
                nonce=nonce,
                resource=resource,
                auth_time=auth_time,
                created_at=now,
                expires_at=now + timedelta(seconds=max(self.refresh_ttl_for(info), ttl)),
            ),
            access.digest,
            now + timedelta(seconds=ttl),
            self.digest(refresh_token) if refresh_token else None,
            issued_event,
        )
        if grant_id is None:
            # The store consumes a code with its grant: another request redeemed this code first.
            raise CodeReused()
        self._audit.announce(issued_event)
        id_token = (
            await self.id_token_for(client, user, scopes, nonce=nonce, auth_time=auth_time, access_token=access_token)
            if with_id_token
            else None
        )
        return IssuedTokens(access_token, ttl, scopes, refresh_token, id_token)
