"""Issuing tokens for a grant: lifetimes per client, the grant and its tokens written in one transaction,
the id_token when the scopes ask for one, and the audit event.

Every grant and the implicit response issue through one ``TokenIssuer``; the id_token issuer is a
constructor argument, so an issuer without one cannot be built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

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
        sid: str | None = None,
        amr: tuple[str, ...] = (),
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
        ttl_seconds: int | None = None,
        act: Mapping[str, Any] | None = None,
        dpop_jkt: str | None = None,
    ) -> MintedAccessToken:
        """An opaque token, or an RFC 9068 JWT for a client (or a server) that issues those (with ``act`` when a
        token exchange issues it for a delegation, and ``cnf.jkt`` when it is bound to a DPoP key)."""
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
            ttl_seconds=ttl_seconds if ttl_seconds is not None else self.access_ttl_for(client),
            act=act,
            dpop_jkt=dpop_jkt,
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
        sid: str | None = None,
        amr: tuple[str, ...] = (),
    ) -> str | None:
        """An id_token beside the access token when the grant acts for a user and has openid (OIDC Core §3.1.3.3)."""
        if user is None or "openid" not in scopes:
            return None
        return await self._id_tokens.issue_id_token(
            client, user, scopes, nonce=nonce, auth_time=auth_time, access_token=access_token, sid=sid,
            amr=amr,
        )  # fmt: skip

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
        sid: str | None = None,
        amr: tuple[str, ...] = (),
        with_refresh: bool,
        with_id_token: bool,
        not_after: datetime | None = None,
        act: Mapping[str, Any] | None = None,
        dpop_jkt: str | None = None,
        ip: str | None = None,
    ) -> IssuedTokens:
        """A new grant with its access token (and refresh token), in one transaction with its code's consumption.

        ``not_after`` ends the grant and its token no later than then (a token exchange's subject token's end);
        ``act`` goes into a JWT access token (RFC 8693 §4.1).
        ``dpop_jkt`` binds the access token (and a public client's refresh token) to a DPoP key (RFC 9449 §5).
        ``ip``: the address the request came from, for the audit event.
        Raises CodeReused when the code was consumed first by another request.
        """
        now = self._clock()
        info = client.info
        ttl = self.access_ttl_for(info)
        grant_ttl = max(self.refresh_ttl_for(info), ttl)
        if not_after is not None:
            ttl = grant_ttl = max(0, min(ttl, int((not_after - now).total_seconds())))
        access = await self.new_access_token(
            info,
            user,
            grant_type,
            scopes,
            resource=resource,
            auth_time=auth_time,
            ttl_seconds=ttl,
            act=act,
            dpop_jkt=dpop_jkt,
        )
        access_token = access.token
        refresh_token = new_token() if with_refresh else None
        if self.writes_no_grant(info, grant_type) and not with_refresh:
            await self._audit.record(
                audit.TOKEN_ISSUED,
                user_id=user.id if user else None,
                client_id=info.client_id,
                ip=ip,
                grant_type=grant_type,
                scope=" ".join(scopes),
                **dpop_binding_detail(dpop_jkt),
            )
            return IssuedTokens(access_token, ttl, scopes, token_type=token_type_for(dpop_jkt))
        issued_event = self._audit.prepare(
            audit.TOKEN_ISSUED,
            user_id=user.id if user else None,
            client_id=info.client_id,
            ip=ip,
            grant_type=grant_type,
            scope=" ".join(scopes),
            **dpop_binding_detail(dpop_jkt),
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
                expires_at=now + timedelta(seconds=grant_ttl),
                access_dpop_jkt=dpop_jkt,
                refresh_dpop_jkt=refresh_binding(info, dpop_jkt),
                sid=sid,
                amr=amr,
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
            await self.id_token_for(
                client,
                user,
                scopes,
                nonce=nonce,
                auth_time=auth_time,
                access_token=access_token,
                sid=sid,
                amr=amr,
            )
            if with_id_token
            else None
        )
        return IssuedTokens(access_token, ttl, scopes, refresh_token, id_token, token_type=token_type_for(dpop_jkt))


def token_type_for(dpop_jkt: str | None) -> str:
    """RFC 9449 §5.1: a token bound to a DPoP key is of type DPoP, and its client must say so when using it."""
    return "DPoP" if dpop_jkt is not None else "Bearer"


def refresh_binding(client: ClientInfo, dpop_jkt: str | None) -> str | None:
    """RFC 9449 §5: a public client's refresh token is bound to the key too; a confidential client's is bound
    by its authentication already, and may be used with a new key."""
    return dpop_jkt if client.is_public else None


def dpop_binding_detail(dpop_jkt: str | None) -> dict[str, str]:
    """What the audit event of an issuance says of its binding: the key's thumbprint, when there is one."""
    return {"dpop_jkt": dpop_jkt} if dpop_jkt is not None else {}
