"""Token revocation (RFC 7009) and taking back an app's access (connected apps)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from gatepass.protocol.rfc7009_revocation import parse_token_lookup
from gatepass.protocol.rfc9068_jwt_access_token import looks_like_jwt
from gatepass.services import audit
from gatepass.services.oauth.client_auth import ClientAuthenticator
from gatepass.services.oauth.jwt_access_tokens import JwtAccessTokens
from gatepass.services.stores import ConsentStore, GrantSummary, TokenStore


@dataclass(frozen=True)
class ConnectedApp:
    client_id: str
    app_name: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None


class RevocationService:
    def __init__(
        self,
        tokens: ClientAuthenticator,
        store: TokenStore,
        consents: ConsentStore,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        *,
        jwt_access_tokens: JwtAccessTokens | None = None,
    ) -> None:
        self._tokens = tokens
        self._jwts = jwt_access_tokens
        self._store = store
        self._consents = consents
        self._audit = audit_log
        self._clock = clock

    async def revoke(self, form: Mapping[str, str], authorization: str | None, *, ip: str | None = None) -> None:
        """RFC 7009 §2.1: revoke the token's whole grant (access and refresh alike), as Frappe does.

        A token that rotation has already superseded (a refresh token used once, an access token of an
        earlier rotation) is revoked alone: Frappe apps clean up the old pair after a refresh, and that
        must not take the new pair with it. Such a token is retired already, so nothing changes; a
        rotated refresh token presented again at the token endpoint still revokes the whole grant
        (RFC 9700 §4.14.2), whether or not it was revoked here first.

        An unknown token, or one issued to another client, is answered the same way as success
        (§2.2), so the endpoint reveals nothing about tokens the caller does not own.
        """
        client = await self._tokens.authenticate_client(form, authorization)
        lookup = parse_token_lookup(form)
        digest = self._tokens.digest(lookup.token)
        if self._jwts is not None and looks_like_jwt(lookup.token):
            claims = await self._jwts.revocable(lookup.token)
            if claims is None or claims.client_id != client.info.client_id:
                return
            if claims.acts_for_client_itself:
                # Every worker and node reads the list before accepting it, until it would have expired.
                await self._jwts.revoke_client_token(claims)
                await self._audit.record(audit.TOKEN_REVOKED, client_id=claims.client_id, ip=ip, jwt=True)
                return
            # A JWT acting for a user is its grant's: revoked with it, as an opaque token would be.
            digest = self._jwts.jti_digest(claims.jti)
        grant_id: int | None = None
        owner: str | None = None
        user_id: int | None = None
        is_superseded = False
        order = (
            ("refresh_token", "access_token") if lookup.hint == "refresh_token" else ("access_token", "refresh_token")
        )
        for kind in order:
            if kind == "access_token":
                access = await self._store.get_access_token(digest)
                if access is not None:
                    grant_id, owner, user_id = access.grant_id, access.client_id, access.user_id
                    # Only rotation and the grant's own revocation set it; either way the grant needs nothing.
                    is_superseded = access.revoked_at is not None
                    break
            else:
                refresh = await self._store.get_refresh_token(digest)
                if refresh is not None:
                    grant_id, owner, user_id = refresh.family_id, refresh.client_id, refresh.user_id
                    is_superseded = refresh.rotated_at is not None
                    break
        if grant_id is None or owner != client.info.client_id:
            return
        if is_superseded:
            await self._audit.record(audit.TOKEN_REVOKED, user_id=user_id, client_id=owner, ip=ip, superseded=True)
            return
        await self._store.revoke_grant(grant_id, self._clock())
        await self._audit.record(audit.TOKEN_REVOKED, user_id=user_id, client_id=owner, ip=ip)

    async def revoke_app_access(self, user_id: int, client_id: str) -> int:
        """Connected apps: every grant of this client for this user, and the remembered consent."""
        count = await self._store.revoke_grants_of(user_id, client_id, self._clock())
        await self._consents.delete_consent(user_id, client_id)
        await self._audit.record(audit.ACCESS_REVOKED, user_id=user_id, client_id=client_id, grants_revoked=count)
        return count

    async def revoke_grant_by_id(self, grant_id: int, *, ip: str | None = None) -> GrantSummary | None:
        """An admin's revocation of one live grant (its access and refresh tokens); None when not live."""
        found = await self._store.list_active_grants(self._clock(), grant_id=grant_id)
        if not found:
            return None
        await self._store.revoke_grant(grant_id, self._clock())
        await self._audit.record(
            audit.TOKEN_REVOKED,
            user_id=found[0].user_id,
            client_id=found[0].client_id,
            ip=ip,
            grant_id=grant_id,
            by="admin",
        )
        return found[0]

    async def list_grants(self, *, user_id: int | None = None, client_id: str | None = None) -> list[GrantSummary]:
        """Live grants (unrevoked, unexpired), newest first: what the admin console lists as tokens."""
        return await self._store.list_active_grants(self._clock(), user_id=user_id, client_id=client_id)

    async def connected_apps(self, user_id: int) -> list[ConnectedApp]:
        """The clients holding live grants for this user: scopes, first granted, last used."""
        apps: dict[str, ConnectedApp] = {}
        for grant in await self._store.list_active_grants(self._clock(), user_id=user_id):
            seen = apps.get(grant.client_id)
            if seen is None:
                apps[grant.client_id] = ConnectedApp(
                    grant.client_id, grant.app_name, grant.scopes, grant.created_at, grant.last_used_at
                )
                continue
            last_used = max((t for t in (seen.last_used_at, grant.last_used_at) if t is not None), default=None)
            scopes = tuple(dict.fromkeys(seen.scopes + grant.scopes))
            apps[grant.client_id] = ConnectedApp(
                grant.client_id, grant.app_name, scopes, min(seen.created_at, grant.created_at), last_used
            )
        return sorted(apps.values(), key=lambda app: app.app_name.lower())
