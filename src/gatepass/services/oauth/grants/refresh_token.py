"""The refresh token grant: rotation on every use, and reuse detection that revokes the whole grant
(RFC 6749 §6, RFC 9700 §4.14.2); for a FAPI 2.0 client, no rotation (FAPI 2.0 Security Profile §5.3.2.1)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from gatepass.protocol.errors import InvalidGrant
from gatepass.protocol.fapi2_security_profile import rotates_refresh_tokens
from gatepass.protocol.params import parse_scope, require
from gatepass.protocol.rfc6749.refresh_token import RefreshTokenReused, check_refresh
from gatepass.protocol.rfc8707_resource import check_token_resource
from gatepass.protocol.rfc9449_dpop import check_bound_key
from gatepass.protocol.tokens import new_token
from gatepass.protocol.values import GRANT_REFRESH_TOKEN, ClientInfo, IssuedTokens, RefreshRecord
from gatepass.services import audit
from gatepass.services.oauth.grants.users import active_user_of_grant
from gatepass.services.oauth.issuance import TokenIssuer, dpop_binding_detail, refresh_binding, token_type_for
from gatepass.services.oauth.stores import GrantTokenStore
from gatepass.services.stores import ClientRecord, GrantRefresh, UserStore


class RefreshTokenGrant:
    grant_type = GRANT_REFRESH_TOKEN
    #: ``redirect_uri`` is accepted and not used: Frappe's documented refresh request carries it.
    parameters = frozenset({"refresh_token", "scope", "resource", "redirect_uri"})

    def __init__(
        self,
        *,
        issuer: TokenIssuer,
        tokens: GrantTokenStore,
        users: UserStore,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
    ) -> None:
        self._issuer = issuer
        self._tokens = tokens
        self._users = users
        self._audit = audit_log
        self._clock = clock

    async def handle(
        self, client: ClientRecord, form: Mapping[str, str], ip: str | None, *, dpop_jkt: str | None = None
    ) -> IssuedTokens:
        presented = require(form, "refresh_token")
        now = self._clock()
        record = await self._tokens.get_refresh_token(self._issuer.digest(presented))
        info = client.info
        try:
            scopes = check_refresh(
                record,
                client_id=info.client_id,
                requested_scopes=parse_scope(form.get("scope")),
                client_scopes=info.scopes,
                now=now,
            )
            assert record is not None
            # RFC 9449 §5: a public client's refresh token goes with the key it was bound to, and stays bound to it.
            check_bound_key(record.dpop_jkt, dpop_jkt, what="This refresh token")
            check_token_resource(form.get("resource"), record.resource)
            user = await active_user_of_grant(self._users, record.user_id) if record.user_id is not None else None
            if user is not None and not info.is_allowed_for(user.roles):
                # As a new authorization would refuse: the client's allowed roles may have changed, or the user's.
                raise InvalidGrant("This user has none of the roles this app is allowed for")
            # A JWT access token is minted anew (RFC 9068): its grant's row is stored under its jti's digest.
            access = await self._issuer.new_access_token(
                info,
                user,
                GRANT_REFRESH_TOKEN,
                scopes,
                resource=record.resource,
                auth_time=record.auth_time,
                dpop_jkt=dpop_jkt,
            )
            access_token = access.token
            ttl = self._issuer.access_ttl_for(info)
            # Written with the new tokens, in their transaction: never a refresh without its event.
            event = self._audit.prepare(
                audit.TOKEN_REFRESHED,
                user_id=record.user_id,
                client_id=info.client_id,
                ip=ip,
                scope=" ".join(scopes),
                **dpop_binding_detail(dpop_jkt),
            )
            refresh = GrantRefresh(
                grant_id=record.family_id,
                refresh_id=record.refresh_id,
                client_id=info.client_id,
                user_id=record.user_id,
                scopes=scopes,
                resource=record.resource,
                access_digest=access.digest,
                access_expires_at=now + timedelta(seconds=ttl),
                now=now,
                access_dpop_jkt=dpop_jkt,
                audit_event=event,
            )
            refresh_token = await self._store_refresh(info, record, refresh)
        except RefreshTokenReused:
            assert record is not None
            await self._tokens.revoke_grant(record.family_id, now)
            await self._audit.record(audit.REFRESH_REUSED, user_id=record.user_id, client_id=info.client_id, ip=ip)
            raise
        self._audit.announce(event)
        # OIDC Core §12.2: the refreshed id_token is about the same login, in the same session (sid), as
        # authenticated then (amr, acr).
        id_token = await self._issuer.id_token_for(
            client, user, scopes, nonce=None, auth_time=record.auth_time, access_token=access_token,
            sid=record.sid, amr=record.amr,
        )  # fmt: skip
        return IssuedTokens(access_token, ttl, scopes, refresh_token, id_token, token_type=token_type_for(dpop_jkt))

    async def _store_refresh(self, info: ClientInfo, record: RefreshRecord, refresh: GrantRefresh) -> str | None:
        """Write the new access token; returns the refresh token to answer with, None to keep the one presented."""
        if not rotates_refresh_tokens(info):
            # FAPI 2.0 §5.3.2.1: the same refresh token goes on working, so the answer carries none (RFC 6749
            # §5.1: optional) and the client keeps the one it holds; a retry after a lost answer is no reuse.
            if not await self._tokens.add_access_token_to_grant(refresh):
                # Revoked between reading it and now (a refresh token that is never rotated cannot be reused).
                raise InvalidGrant("The refresh token has been revoked")
            return None
        refresh_token = new_token()
        if not await self._tokens.rotate_refresh(
            refresh,
            self._issuer.digest(refresh_token),
            record.dpop_jkt or refresh_binding(info, refresh.access_dpop_jkt),
        ):
            # Another request rotated it first: the same refresh token was used twice.
            raise RefreshTokenReused()
        return refresh_token
