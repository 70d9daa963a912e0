"""OpenID Connect: id_tokens, userinfo and RP-initiated logout."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gatepass.protocol.errors import InsufficientScope, InvalidRequest, InvalidToken
from gatepass.protocol.jose import sign_jwt, unverified_claims, verify_jwt
from gatepass.protocol.oidc.claims import claims_for_scopes, frappe_profile_scopes
from gatepass.protocol.oidc.id_token import build_id_token_claims
from gatepass.services.clients import ClientService
from gatepass.services.keys import KeyService
from gatepass.services.oauth.access_tokens import AccessTokenVerifier
from gatepass.services.oauth.dpop import BEARER, TokenPresentation
from gatepass.services.stores import ClientRecord, UserRecord, UserStore
from gatepass.services.subjects import SubjectIdentifiers


class IdTokenService:
    def __init__(
        self,
        *,
        issuer: str,
        keys: KeyService,
        clients: ClientService,
        subjects: SubjectIdentifiers,
        clock: Callable[[], datetime],
        ttl_seconds: int,
    ) -> None:
        self._issuer = issuer
        self._subjects = subjects
        self._keys = keys
        self._clients = clients
        self._clock = clock
        self._ttl = ttl_seconds

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
    ) -> str:
        alg = client.info.id_token_signed_response_alg
        released = frozenset(scopes)
        if client.info.is_frappe_legacy:
            # Frappe's id_token carries the whole profile for openid; apps written for it read it there.
            released |= frappe_profile_scopes(scopes, is_frappe_legacy=True)
        claims = build_id_token_claims(
            issuer=self._issuer,
            subject=self._subjects.subject_for(user.sub, client.info.pairwise_sector),
            client_id=client.info.client_id,
            now=self._clock(),
            ttl_seconds=self._ttl,
            auth_time=auth_time,
            nonce=nonce,
            alg=alg,
            access_token=access_token,
            code=code,
            user_claims=claims_for_scopes(user, self._issuer, released),
            amr=amr,
        )
        if sid is not None:
            # Back-Channel Logout §2.1: the session the RP matches a later logout token's sid against.
            claims["sid"] = sid
        return await self.sign_for_client(client, claims)

    async def sign_for_client(self, client: ClientRecord, claims: dict[str, Any], *, typ: str = "JWT") -> str:
        """Signed as the client's id_tokens are (its id_token_signed_response_alg); logout tokens too (§2.4)."""
        alg = client.info.id_token_signed_response_alg
        if alg == "HS256":
            # Frappe compatibility: signed with the client secret, kept encrypted for this purpose only.
            return sign_jwt(claims, alg=alg, secret=self._clients.client_secret_for_hs256(client), typ=typ)
        return sign_jwt(claims, alg=alg, private_jwk=await self._keys.signing_key(alg), typ=typ)


@dataclass(frozen=True)
class LogoutRequest:
    client: ClientRecord | None
    post_logout_redirect_uri: str | None
    state: str | None
    #: The user named by a valid id_token_hint: logging out needs no confirmation then.
    hinted_subject: str | None


class OidcService:
    def __init__(
        self,
        *,
        issuer: str,
        access_tokens: AccessTokenVerifier,
        users: UserStore,
        clients: ClientService,
        keys: KeyService,
        subjects: SubjectIdentifiers,
        clock: Callable[[], datetime],
    ) -> None:
        self._issuer = issuer
        self._subjects = subjects
        self._access_tokens = access_tokens
        self._users = users
        self._clients = clients
        self._keys = keys
        self._clock = clock

    async def userinfo(
        self, access_token: str, *, is_frappe_path: bool = False, presented: TokenPresentation = BEARER
    ) -> dict[str, Any]:
        """OIDC Core §5.3: claims by the token's scopes. Frappe's path adds Frappe's fields."""
        record = await self._access_tokens.load_access_token(access_token, presented)
        scopes = frozenset(record.scopes)
        is_allowed = "openid" in scopes
        if is_frappe_path:
            # The client is looked up only when it matters: with openid, any client's token reads it all here.
            is_legacy = not is_allowed and await self._is_frappe_legacy(record.client_id)
            released = frappe_profile_scopes(scopes, is_frappe_legacy=is_legacy)
            is_allowed, scopes = bool(released), scopes | released
        if not is_allowed:
            raise InsufficientScope("The access token does not have the openid scope", scope="openid")
        user = record.user
        if user is None and record.user_id is not None:
            user = await self._users.get_user(record.user_id)
        if user is None or not user.is_enabled:
            raise InvalidToken("The user of this access token no longer exists or is disabled")
        claims = claims_for_scopes(user, self._issuer, scopes)
        # OIDC Core §5.3.2: the sub of the id_token the client holds; Frappe's openid_profile says the same.
        claims["sub"] = self._subjects.subject_for(user.sub, record.client_pairwise_sector)
        if is_frappe_path:
            claims["iss"] = self._issuer
        return claims

    async def _is_frappe_legacy(self, client_id: str) -> bool:
        client = await self._clients.get(client_id)
        return client is not None and client.info.is_frappe_legacy

    def is_hinted_user(self, logout: LogoutRequest, user: UserRecord) -> bool:
        """Whether the id_token_hint named ``user``: its sub is the one the hint's client is told."""
        if logout.hinted_subject is None or logout.client is None:
            return False
        return logout.hinted_subject == self._subjects.subject_for(user.sub, logout.client.info.pairwise_sector)

    async def parse_logout(self, params: Mapping[str, str]) -> LogoutRequest:
        """RP-Initiated Logout 1.0 §2-3: the hint, the client, and a registered post-logout URI only."""
        hint = params.get("id_token_hint")
        client_id = params.get("client_id")
        subject: str | None = None
        if hint is not None:
            audience = unverified_claims(hint).get("aud")
            audience = audience[0] if isinstance(audience, list) and audience else audience
            if not isinstance(audience, str):
                raise InvalidRequest("id_token_hint has no audience")
            if client_id is not None and client_id != audience:
                raise InvalidRequest("client_id does not match the audience of id_token_hint")
            client_id = audience
        client = await self._clients.get(client_id) if client_id else None
        if client_id and client is None:
            raise InvalidRequest(f"No client is registered with client_id '{client_id}'")
        if hint is not None and client is not None:
            secret = (
                self._clients.client_secret_for_hs256(client)
                if client.info.id_token_signed_response_alg == "HS256"
                else None
            )
            jwks = (await self._keys.jwks())["keys"]
            # An expired id_token is still a fine hint (§2: the OP need not check exp).
            claims = verify_jwt(
                hint,
                public_jwks=jwks,
                secret=secret,
                issuer=self._issuer,
                audience=client.info.client_id,
                now=int(self._clock().timestamp()),
                check_expiry=False,
            )
            subject = str(claims.get("sub"))
        redirect = params.get("post_logout_redirect_uri")
        if redirect is not None:
            if client is None:
                raise InvalidRequest("post_logout_redirect_uri needs client_id or id_token_hint")
            if redirect not in client.info.post_logout_redirect_uris:
                raise InvalidRequest("post_logout_redirect_uri is not registered for this client")
        return LogoutRequest(client, redirect, params.get("state"), subject)
