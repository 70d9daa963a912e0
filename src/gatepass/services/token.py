"""The token endpoint and everything that issues or checks tokens.

Each grant is a handler registered by its ``grant_type``; an unknown type is
``unsupported_grant_type``. Every issuance writes the grant and its tokens in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from gatepass.protocol.errors import (
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from gatepass.protocol.params import parse_scope, require
from gatepass.protocol.rfc6749.authorization_code import CodeReused, CodeVerifierFailed, check_code_redemption
from gatepass.protocol.rfc6749.client_auth import check_client_authentication, parse_client_credentials
from gatepass.protocol.rfc6749.client_credentials import check_client_credentials_grant
from gatepass.protocol.rfc6749.refresh_token import RefreshTokenReused, check_refresh
from gatepass.protocol.rfc8707_resource import check_resource, check_token_resource
from gatepass.protocol.tokens import new_token, token_digest
from gatepass.protocol.values import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_IMPLICIT,
    GRANT_REFRESH_TOKEN,
    AuthorizationRequest,
    ClientInfo,
    IssuedTokens,
    Principal,
    RefreshRecord,
)
from gatepass.services import audit
from gatepass.services.crypto import InstanceKeys
from gatepass.services.stores import (
    AccessTokenRecord,
    ClientRecord,
    ClientStore,
    CodeStore,
    NewGrant,
    UserRecord,
    UserStore,
)


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


#: How precisely a grant's last use is kept, and how many grants a worker remembers having noted.
LAST_USE_RESOLUTION = timedelta(seconds=60)
_LAST_USE_MEMORY = 100_000


class GrantTokenStore(Protocol):
    async def add_grant_with_tokens(
        self, grant: NewGrant, access_digest: str, access_expires_at: datetime, refresh_digest: str | None
    ) -> int | None: ...
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
    ) -> bool: ...
    async def get_access_token(self, token_digest: str) -> AccessTokenRecord | None: ...
    async def get_refresh_token(self, token_digest: str) -> RefreshRecord | None: ...
    async def revoke_grant(self, grant_id: int, now: datetime) -> None: ...
    async def touch_grants(self, grant_ids: list[int], now: datetime) -> None: ...
    async def revoke_grants_from_code(self, code_id: int, now: datetime) -> int: ...


Handler = Callable[[ClientRecord, Mapping[str, str], str | None], Awaitable[IssuedTokens]]


class TokenService:
    def __init__(
        self,
        *,
        clients: ClientStore,
        codes: CodeStore,
        tokens: GrantTokenStore,
        users: UserStore,
        keys: InstanceKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        access_token_ttl_seconds: int,
        refresh_token_ttl_seconds: int,
        known_resources: tuple[str, ...] = (),
        api_resource: str | None = None,
    ) -> None:
        self._known_resources = known_resources
        self._api_resource = api_resource
        self._clients = clients
        self._codes = codes
        self._tokens = tokens
        self._users = users
        self._keys = keys
        self._audit = audit_log
        self._clock = clock
        self._access_ttl = access_token_ttl_seconds
        self._refresh_ttl = refresh_token_ttl_seconds
        self._last_use_noted: dict[int, datetime] = {}
        self._uses_to_write: set[int] = set()
        self.id_tokens: IdTokenIssuer | None = None
        self._handlers: dict[str, Handler] = {
            GRANT_AUTHORIZATION_CODE: self._authorization_code,
            GRANT_REFRESH_TOKEN: self._refresh_token,
            GRANT_CLIENT_CREDENTIALS: self._client_credentials,
        }

    def digest(self, token: str) -> str:
        return token_digest(self._keys.digest_key, token)

    async def authenticate_client(self, form: Mapping[str, str], authorization: str | None) -> ClientRecord:
        """RFC 6749 §2.3 client authentication, as the client registered it."""
        credentials = parse_client_credentials(authorization, form)
        record = await self._clients.get_client(credentials.client_id)
        check_client_authentication(credentials, record.info if record else None, self._keys.digest_key)
        assert record is not None
        return record

    async def token(self, form: Mapping[str, str], authorization: str | None, *, ip: str | None = None) -> IssuedTokens:
        grant_type = require(form, "grant_type")
        handler = self._handlers.get(grant_type)
        if handler is None:
            raise UnsupportedGrantType(
                f"grant_type '{grant_type}' is not supported; "
                "use authorization_code, refresh_token or client_credentials"
            )
        client = await self.authenticate_client(form, authorization)
        if grant_type not in client.info.grant_types:
            raise UnauthorizedClient(f"This client is not allowed to use the {grant_type} grant")
        return await handler(client, form, ip)

    # -- lifetimes -------------------------------------------------------------------------

    def _access_ttl_for(self, client: ClientInfo) -> int:
        return client.access_token_ttl_seconds or self._access_ttl

    def _refresh_ttl_for(self, client: ClientInfo) -> int:
        return client.refresh_token_ttl_seconds or self._refresh_ttl

    # -- grants ----------------------------------------------------------------------------

    async def _active_user(self, user_id: int | None) -> UserRecord:
        user = await self._users.get_user(user_id) if user_id is not None else None
        if user is None or not user.is_enabled:
            raise InvalidGrant("The user of this grant no longer exists or is disabled")
        return user

    async def _issue(
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
        now = self._clock()
        info = client.info
        access_token = new_token()
        refresh_token = new_token() if with_refresh else None
        ttl = self._access_ttl_for(info)
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
                expires_at=now + timedelta(seconds=max(self._refresh_ttl_for(info), ttl)),
            ),
            self.digest(access_token),
            now + timedelta(seconds=ttl),
            self.digest(refresh_token) if refresh_token else None,
        )
        if grant_id is None:
            # The store consumes a code with its grant: another request redeemed this code first.
            raise CodeReused()
        id_token = None
        if with_id_token and user is not None and "openid" in scopes and self.id_tokens is not None:
            id_token = await self.id_tokens.issue_id_token(
                client, user, scopes, nonce=nonce, auth_time=auth_time, access_token=access_token
            )
        await self._audit.record(
            audit.TOKEN_ISSUED,
            user_id=user.id if user else None,
            client_id=info.client_id,
            grant_type=grant_type,
            scope=" ".join(scopes),
        )
        return IssuedTokens(access_token, ttl, scopes, refresh_token, id_token)

    async def _authorization_code(self, client: ClientRecord, form: Mapping[str, str], ip: str | None) -> IssuedTokens:
        code = require(form, "code")
        now = self._clock()
        record = await self._codes.get_code(self.digest(code))
        try:
            check_code_redemption(
                record,
                client_id=client.info.client_id,
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
                now=now,
            )
            assert record is not None
            user = await self._active_user(record.user_id)
            # RFC 6749 §4.1.2: single use. The code is consumed in the transaction that writes its grant
            # (one conditional update decides a race), so a second redemption always finds that grant.
            return await self._issue(
                client,
                user,
                GRANT_AUTHORIZATION_CODE,
                record.scopes,
                code_id=record.code_id,
                nonce=record.nonce,
                auth_time=record.auth_time,
                # RFC 8707 §2.2: the token request may repeat the authorized resource, not change it.
                resource=check_token_resource(form.get("resource"), record.resource),
                with_refresh=GRANT_REFRESH_TOKEN in client.info.grant_types,
                with_id_token=True,
            )
        except CodeVerifierFailed:
            assert record is not None
            # RFC 7636 §4.6 says invalid_grant; consuming the code as well leaves whoever holds a stolen code
            # one guess at the verifier. One conditional update: a concurrent redemption still decides alone.
            await self._codes.consume_code(record.code_id, now)
            await self._audit.record(
                audit.CODE_VERIFIER_FAILED, user_id=record.user_id, client_id=client.info.client_id, ip=ip
            )
            raise
        except CodeReused:
            assert record is not None
            revoked = await self._tokens.revoke_grants_from_code(record.code_id, now)
            await self._audit.record(
                audit.CODE_REUSED,
                user_id=record.user_id,
                client_id=client.info.client_id,
                ip=ip,
                grants_revoked=revoked,
            )
            raise

    async def _refresh_token(self, client: ClientRecord, form: Mapping[str, str], ip: str | None) -> IssuedTokens:
        presented = require(form, "refresh_token")
        now = self._clock()
        record = await self._tokens.get_refresh_token(self.digest(presented))
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
            check_token_resource(form.get("resource"), record.resource)
            user = await self._active_user(record.user_id) if record.user_id is not None else None
            if user is not None and not info.is_allowed_for(user.roles):
                # As a new authorization would refuse: the client's allowed roles may have changed, or the user's.
                raise InvalidGrant("This user has none of the roles this app is allowed for")
            access_token, refresh_token = new_token(), new_token()
            ttl = self._access_ttl_for(info)
            if not await self._tokens.rotate_refresh(
                grant_id=record.family_id,
                refresh_id=record.refresh_id,
                client_id=info.client_id,
                user_id=record.user_id,
                scopes=scopes,
                resource=record.resource,
                access_digest=self.digest(access_token),
                access_expires_at=now + timedelta(seconds=ttl),
                new_refresh_digest=self.digest(refresh_token),
                now=now,
            ):
                # Another request rotated it first: the same refresh token was used twice.
                raise RefreshTokenReused()
        except RefreshTokenReused:
            assert record is not None
            await self._tokens.revoke_grant(record.family_id, now)
            await self._audit.record(audit.REFRESH_REUSED, user_id=record.user_id, client_id=info.client_id, ip=ip)
            raise
        id_token = None
        if user is not None and "openid" in scopes and self.id_tokens is not None:
            id_token = await self.id_tokens.issue_id_token(
                client, user, scopes, nonce=None, auth_time=record.auth_time, access_token=access_token
            )
        await self._audit.record(
            audit.TOKEN_REFRESHED, user_id=record.user_id, client_id=info.client_id, scope=" ".join(scopes)
        )
        return IssuedTokens(access_token, ttl, scopes, refresh_token, id_token)

    async def _client_credentials(self, client: ClientRecord, form: Mapping[str, str], ip: str | None) -> IssuedTokens:
        scopes = check_client_credentials_grant(client.info, parse_scope(form.get("scope")))
        user = await self._users.get_user(client.info.service_user_id) if client.info.service_user_id else None
        if user is None or not user.is_enabled:
            raise UnauthorizedClient("The service user of this client is missing or disabled")
        # RFC 6749 §4.4.3: no refresh token for client credentials.
        return await self._issue(
            client,
            user,
            GRANT_CLIENT_CREDENTIALS,
            scopes,
            resource=check_resource(form.get("resource"), self._known_resources),
            with_refresh=False,
            with_id_token=False,
        )

    async def issue_implicit(
        self, client: ClientRecord, request: AuthorizationRequest, user: UserRecord, auth_time: datetime
    ) -> dict[str, str]:
        """Legacy implicit responses (RFC 6749 §4.2.2, OIDC Core §3.2.2.5): no refresh token."""
        response: dict[str, str] = {}
        access_token: str | None = None
        if "token" in request.response_type.split(" "):
            issued = await self._issue(
                client,
                user,
                GRANT_IMPLICIT,
                request.scopes,
                nonce=request.nonce,
                auth_time=auth_time,
                resource=request.resource,
                with_refresh=False,
                with_id_token=False,
            )
            access_token = issued.access_token
            response.update(
                access_token=issued.access_token,
                token_type="Bearer",
                expires_in=str(issued.expires_in),
                scope=" ".join(issued.scopes),
            )
        if "id_token" in request.response_type.split(" "):
            if self.id_tokens is None:
                raise InvalidRequest("id_token responses are not available")
            response["id_token"] = await self.id_tokens.issue_id_token(
                client, user, request.scopes, nonce=request.nonce, auth_time=auth_time, access_token=access_token
            )
        return response

    # -- checking tokens ------------------------------------------------------------------

    async def load_access_token(self, token: str) -> AccessTokenRecord:
        """The stored access token, or InvalidToken saying whether it is unknown, expired or revoked.

        A token that passes is an app using its access: its grant's last use is noted (see _note_use).
        """
        record = await self._tokens.get_access_token(self.digest(token))
        if record is None:
            raise InvalidToken("The access token is invalid")
        if record.revoked_at is not None:
            raise InvalidToken("The access token has been revoked")
        now = self._clock()
        if record.expires_at <= now:
            raise InvalidToken("The access token has expired; use the refresh token to get a new one")
        if not await self._is_client_enabled(record.client_id):
            raise InvalidToken("The access token was issued to a client that is disabled")
        self._note_use(record.grant_id, now)
        return record

    def _note_use(self, grant_id: int, now: datetime) -> None:
        """Remember that a grant was used; flush_last_use writes the uses of many grants in one statement,
        so no API call waits for, or pays, a write of its own."""
        noted = self._last_use_noted.get(grant_id)
        if noted is not None and now - noted < LAST_USE_RESOLUTION:
            return
        if len(self._last_use_noted) >= _LAST_USE_MEMORY:
            self._last_use_noted.clear()
        self._last_use_noted[grant_id] = now
        self._uses_to_write.add(grant_id)

    async def flush_last_use(self) -> int:
        """Write the last use of every grant used since the previous flush; returns how many."""
        if not self._uses_to_write:
            return 0
        grant_ids, self._uses_to_write = sorted(self._uses_to_write), set()
        await self._tokens.touch_grants(grant_ids, self._clock())
        return len(grant_ids)

    async def _is_client_enabled(self, client_id: str) -> bool:
        """Disabling a client revokes its grants; this also stops a token issued while it was being disabled."""
        client = await self._clients.get_client(client_id)
        return client is not None and client.info.is_enabled

    async def authenticate_bearer(self, token: str) -> Principal:
        """The principal of a token presented to the document API."""
        record = await self.load_access_token(token)
        if record.resource is not None and record.resource != self._api_resource:
            # RFC 8707: a token bound to another resource must not be accepted here.
            raise InvalidToken("The access token was issued for another resource")
        if record.user_id is None:
            raise InvalidToken("The access token acts for no user")
        return Principal(
            user_id=record.user_id,
            client_id=record.client_id,
            scopes=frozenset(record.scopes),
            token_id=record.token_id,
        )
