"""JWT access tokens (RFC 9068): minting them, and reading one presented back to this server.

Two kinds, told apart by ``sub`` (RFC 9068 §2.2, §5):

- A token acting for a user (every grant but client credentials) is tied to its grant: the grant's
  statement writes an access-token row under the digest of the JWT's ``jti`` instead of the token's, as
  it would for an opaque token. So revoking the grant, its refresh token being reused, signing out
  everywhere or disabling the user makes the JWT inactive at once, and a refresh rotates as before.
- A client-credentials token (``sub`` is the ``client_id``) writes nothing but its audit event. Revoking
  it puts the digest of its ``jti`` on the revocation list (db/revoked_access_tokens.py) until it would
  have expired; the insert empties the token entries of every worker's read cache, as a revoked row does.

Either way, a token presented back is checked here in this order: signature with a published key, ``typ``,
``iss``, ``exp``; then the row or the revocation list, the client still enabled, the user still active.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from gatepass.protocol.errors import InvalidToken
from gatepass.protocol.jose import decode_signed_jwt, sign_jwt
from gatepass.protocol.rfc9068_jwt_access_token import (
    TYP,
    JwtAccessTokenClaims,
    build_access_token_claims,
    check_claims,
    check_header,
)
from gatepass.protocol.tokens import derive_key, new_token, token_digest
from gatepass.protocol.values import ACCESS_TOKEN_JWT, GRANT_CLIENT_CREDENTIALS, ClientInfo
from gatepass.services.keys import KeyService
from gatepass.services.stores import AccessTokenRecord, ClientStore, UserRecord, UserStore
from gatepass.services.subjects import SubjectIdentifiers


class RevokedJtiStore(Protocol):
    async def revoke_jti(self, jti_digest: str, expires_at: datetime) -> None: ...
    async def is_jti_revoked(self, jti_digest: str) -> bool: ...


class GrantAccessTokenStore(Protocol):
    async def get_access_token(self, token_digest: str) -> AccessTokenRecord | None: ...


@dataclasses.dataclass(frozen=True)
class MintedAccessToken:
    token: str
    #: What the grant's row is stored under: the digest of the ``jti`` (for a JWT) or of the token itself.
    digest: str


class JwtAccessTokens:
    def __init__(
        self,
        *,
        issuer: str,
        default_audience: str,
        default_format: str,
        alg: str,
        signing_keys: KeyService,
        digest_key: bytes,
        revoked: RevokedJtiStore,
        grant_tokens: GrantAccessTokenStore,
        clients: ClientStore,
        users: UserStore,
        subjects: SubjectIdentifiers,
        clock: Callable[[], datetime],
    ) -> None:
        self._issuer = issuer
        self._subjects = subjects
        self._default_audience = default_audience
        self._default_format = default_format
        self._alg = alg
        self._signing_keys = signing_keys
        # A key of its own: the digest of a jti must never equal the digest of a string sent as an opaque token.
        self._jti_key = derive_key(digest_key, "rfc9068-jti")
        self._revoked = revoked
        self._grant_tokens = grant_tokens
        self._clients = clients
        self._users = users
        self._clock = clock

    def is_jwt_for(self, client: ClientInfo) -> bool:
        return (client.access_token_format or self._default_format) == ACCESS_TOKEN_JWT

    def jti_digest(self, jti: str) -> str:
        return token_digest(self._jti_key, jti)

    def subject_of(self, client: ClientInfo, user: UserRecord | None, grant_type: str) -> str:
        """The token's ``sub``: the client itself for client credentials (RFC 9068 §2.2: no resource owner),
        else the user, as this client is told it everywhere (one place, so a per-client subject hooks in here)."""
        if grant_type == GRANT_CLIENT_CREDENTIALS or user is None:
            return client.client_id
        return self._subjects.subject_for(user.sub, client.pairwise_sector)

    async def mint(
        self,
        client: ClientInfo,
        user: UserRecord | None,
        grant_type: str,
        scopes: tuple[str, ...],
        *,
        resource: str | None,
        auth_time: datetime | None,
        ttl_seconds: int,
        act: Mapping[str, Any] | None = None,
        dpop_jkt: str | None = None,
    ) -> MintedAccessToken:
        """A signed JWT access token: ``aud`` is the resource asked for (RFC 8707), else the document API;
        ``roles`` only when the ``roles`` scope was granted, as the id_token and userinfo release them."""
        jti = new_token()
        is_for_client = grant_type == GRANT_CLIENT_CREDENTIALS
        claims = build_access_token_claims(
            issuer=self._issuer,
            subject=self.subject_of(client, user, grant_type),
            audience=resource or self._default_audience,
            client_id=client.client_id,
            scopes=scopes,
            jti=jti,
            now=self._clock(),
            ttl_seconds=ttl_seconds,
            auth_time=None if is_for_client else auth_time,
            roles=user.roles if user is not None and "roles" in scopes else None,
            act=act,
            dpop_jkt=dpop_jkt,
        )
        private_jwk = await self._signing_keys.signing_key(self._alg)
        return MintedAccessToken(
            sign_jwt(claims, alg=self._alg, private_jwk=private_jwk, typ=TYP), self.jti_digest(jti)
        )

    async def read(self, token: str) -> JwtAccessTokenClaims:
        """RFC 9068 §4: signed with a key this server publishes (never none, never a shared secret), typed
        ``at+jwt``, issued here, not expired. Raises InvalidToken saying which."""
        published = (await self._signing_keys.jwks())["keys"]
        try:
            header, claims = decode_signed_jwt(token, public_jwks=published)
        except ValueError:
            raise InvalidToken("The access token is not a JWT signed with a key this server publishes") from None
        check_header(header)
        return check_claims(claims, issuer=self._issuer, now=self._clock())

    async def load(self, token: str) -> AccessTokenRecord:
        """The token as the opaque path sees one, for the same checks after it (revoked, expired, client)."""
        claims = await self.read(token)
        if not claims.acts_for_client_itself:
            record = await self._grant_tokens.get_access_token(self.jti_digest(claims.jti))
            if record is None or record.client_id != claims.client_id:
                # Its grant's rows go once revoked and purged: a JWT whose row is gone was revoked.
                raise InvalidToken("The access token has been revoked")
            return dataclasses.replace(record, resource=claims.audience[0])
        return await self._load_client_token(claims)

    async def _load_client_token(self, claims: JwtAccessTokenClaims) -> AccessTokenRecord:
        if await self._revoked.is_jti_revoked(self.jti_digest(claims.jti)):
            raise InvalidToken("The access token has been revoked")
        client = await self._clients.get_client(claims.client_id)
        if client is None:
            raise InvalidToken("The access token was issued to a client that no longer exists")
        service_user_id = client.info.service_user_id
        user = await self._users.get_user(service_user_id) if service_user_id is not None else None
        if user is None or not user.is_enabled:
            raise InvalidToken("The service user of this access token's client is missing or disabled")
        return AccessTokenRecord(
            token_id=0,
            grant_id=0,
            client_id=claims.client_id,
            user_id=user.id,
            scopes=claims.scopes,
            resource=claims.audience[0],
            created_at=claims.issued_at,
            expires_at=claims.expires_at,
            revoked_at=None,
            is_client_enabled=client.info.is_enabled,
            is_client_trusted=client.info.skip_authorization,
            client_pairwise_sector=client.info.pairwise_sector,
            dpop_jkt=claims.dpop_jkt,
        )

    async def revocable(self, token: str) -> JwtAccessTokenClaims | None:
        """The claims of a live JWT access token this server issued, for revocation; None for anything else
        (an expired token needs nothing, and RFC 7009 §2.2 answers an unknown token as a revoked one)."""
        try:
            return await self.read(token)
        except InvalidToken:
            return None

    async def revoke_client_token(self, claims: JwtAccessTokenClaims) -> None:
        """Until it would have expired anyway (check_claims refuses it from its exp on); upkeep then purges it."""
        await self._revoked.revoke_jti(self.jti_digest(claims.jti), claims.expires_at)
