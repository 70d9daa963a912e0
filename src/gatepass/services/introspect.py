"""Token introspection (RFC 7662) with Frappe's extra user fields.

Who may learn about which token is protocol/rfc7662_introspection.is_allowed_to_introspect; a caller
that may not gets exactly the answer an unknown token gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from gatepass.protocol.errors import InvalidToken
from gatepass.protocol.oidc.claims import claims_for_scopes, frappe_profile_scopes
from gatepass.protocol.rfc7009_revocation import parse_token_lookup
from gatepass.protocol.rfc7662_introspection import build_introspection_response, is_allowed_to_introspect
from gatepass.protocol.rfc9068_jwt_access_token import looks_like_jwt
from gatepass.services.oauth.client_auth import ClientAuthenticator
from gatepass.services.oauth.exchange_policies import ExchangeRecord
from gatepass.services.oauth.jwt_access_tokens import JwtAccessTokens
from gatepass.services.stores import AccessTokenRecord, ClientStore, TokenStore, UserRecord, UserStore
from gatepass.services.subjects import SubjectIdentifiers

INACTIVE: dict[str, Any] = {"active": False}


class ExchangeRecords(Protocol):
    async def get_exchange(self, grant_id: int) -> ExchangeRecord | None: ...


class IntrospectionService:
    def __init__(
        self,
        *,
        issuer: str,
        client_auth: ClientAuthenticator,
        store: TokenStore,
        clients: ClientStore,
        users: UserStore,
        subjects: SubjectIdentifiers,
        clock: Callable[[], datetime],
        jwt_access_tokens: JwtAccessTokens | None = None,
        exchanges: ExchangeRecords | None = None,
    ) -> None:
        self._exchanges = exchanges
        self._jwts = jwt_access_tokens
        self._issuer = issuer
        self._subjects = subjects
        self._client_auth = client_auth
        self._store = store
        self._clients = clients
        self._users = users
        self._clock = clock

    async def introspect(self, form: Mapping[str, str], authorization: str | None) -> dict[str, Any]:
        caller = await self._client_auth.authenticate_client(form, authorization)
        lookup = parse_token_lookup(form, is_hint_strict=False)
        digest = self._client_auth.digest(lookup.token)
        now = self._clock()
        order = (
            ("refresh_token", "access_token") if lookup.hint == "refresh_token" else ("access_token", "refresh_token")
        )
        for kind in order:
            if kind == "access_token":
                access = await self._access_token(lookup.token, digest)
                if access is None:
                    continue
                if access.revoked_at is not None or access.expires_at <= now:
                    return INACTIVE
                client_id, user_id, scopes, iat, exp, resource = (
                    access.client_id,
                    access.user_id,
                    access.scopes,
                    access.created_at,
                    access.expires_at,
                    access.resource,
                )
                # Read with the token: whether its client is enabled and trusted now.
                owner: tuple[bool, bool] | None = (access.is_client_enabled, access.is_client_trusted)
                grant_id: int | None = access.grant_id
                sector = access.client_pairwise_sector
                dpop_jkt = access.dpop_jkt
                is_exchanged = access.is_exchanged
                read_user = access.user
            else:
                refresh = await self._store.get_refresh_token(digest)
                if refresh is None:
                    continue
                if refresh.revoked_at is not None or refresh.rotated_at is not None or refresh.expires_at <= now:
                    return INACTIVE
                client_id, user_id, scopes, exp, resource = (
                    refresh.client_id,
                    refresh.user_id,
                    refresh.scopes,
                    refresh.expires_at,
                    refresh.resource,
                )
                iat = None
                owner = None
                grant_id = None
                sector = None
                dpop_jkt = None
                is_exchanged = False
                read_user = None
            if not is_allowed_to_introspect(caller.info, client_id):
                return INACTIVE
            if owner is None:
                # Resource servers mostly ask about their own clients' tokens: no second lookup then.
                found = caller if caller.info.client_id == client_id else await self._clients.get_client(client_id)
                owner = (False, False) if found is None else (found.info.is_enabled, found.info.skip_authorization)
                sector = None if found is None else found.info.pairwise_sector
            is_owner_enabled, is_owner_trusted = owner
            user: UserRecord | None = read_user
            if user is None and user_id is not None:
                user = await self._users.get_user(user_id)
            # A disabled client's grants are revoked as it is disabled; this covers one issued meanwhile.
            if not is_owner_enabled:
                return INACTIVE
            if user_id is not None and (user is None or not user.is_enabled):
                return INACTIVE
            # Frappe's fields for openid tokens, of any client (what the consent screen lists for openid).
            released = frappe_profile_scopes(scopes, is_frappe_legacy=False)
            # RFC 8693 §4.1: a token issued by a delegation names its actor (an access token's own grant only).
            exchange = (
                await self._exchanges.get_exchange(grant_id) if self._exchanges and grant_id and is_exchanged else None
            )
            return build_introspection_response(
                issuer=self._issuer,
                client_id=client_id,
                is_trusted_client=is_owner_trusted,
                scopes=scopes,
                issued_at=iat,
                expires_at=exp,
                token_type=kind,
                # The sub the token's client is told (pairwise or not), as its id_token and userinfo say.
                subject=self._subjects.subject_for(user.sub, sector) if user else None,
                username=user.email if user else None,
                audience=resource or client_id,
                user_fields=claims_for_scopes(user, self._issuer, released) if user is not None and released else None,
                act=exchange.act if exchange is not None else None,
                dpop_jkt=dpop_jkt,
            )
        return INACTIVE

    async def _access_token(self, token: str, digest: str) -> AccessTokenRecord | None:
        """An opaque token's row, or what a JWT access token of this server stands for (None when it fails a
        check: RFC 7662 §2.2 answers every such token as inactive)."""
        if self._jwts is None or not looks_like_jwt(token):
            return await self._store.get_access_token(digest)
        try:
            return await self._jwts.load(token)
        except InvalidToken:
            return None
