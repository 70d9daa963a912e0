"""The token exchange grant: a client trades a user's token for an access token to another audience (RFC 8693).

The steps, in order (each raises or returns):
1. the request's parameters (``protocol/rfc8693_token_exchange.py``, ``invalid_request``/``invalid_target``);
2. a confidential client with a policy (``unauthorized_client``), and its policy for the audience asked
   for (``invalid_target``);
3. the subject token: this server's, live, its user enabled, of a type and client the policy allows
   (``invalid_request``, RFC 8693 §2.2.2);
4. the actor token, for delegation: the same checks, and a client the policy names as an actor; without
   one, the policy must allow impersonation (``invalid_request``);
5. the scopes: within the subject token's and the policy's (``invalid_scope``);
6. an access token acting as the subject's user, for the audience, ending no later than the subject (and
   actor) token; the exchange (with the ``act`` claim) is recorded, then audited as ``token.exchanged``.

The new token is a grant of its own, held by the exchanging client: revoking the subject token does not
revoke it (it ends with the subject token anyway, at the latest), and revoking it, disabling its client or
its user ends it like any other token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from gatepass.protocol.errors import InvalidRequest, InvalidToken
from gatepass.protocol.jose import verify_jwt
from gatepass.protocol.rfc8693_token_exchange import (
    ACCESS_TOKEN_TYPE,
    ID_TOKEN_TYPE,
    JWT_TOKEN_TYPE,
    PresentedToken,
    act_claim,
    check_actor,
    check_client_may_exchange,
    check_subject,
    choose_policy,
    exchanged_lifetime,
    granted_scopes,
    is_jwt_shaped,
    parse_token_exchange_request,
)
from gatepass.protocol.values import GRANT_TOKEN_EXCHANGE, IssuedTokens
from gatepass.services import audit
from gatepass.services.oauth.access_tokens import AccessTokenVerifier
from gatepass.services.oauth.exchange_policies import ExchangeRecord, TokenExchangeStore
from gatepass.services.oauth.issuance import TokenIssuer
from gatepass.services.stores import ClientRecord, ClientStore, UserRecord


class ExchangeUsers(Protocol):
    async def get_user(self, user_id: int) -> UserRecord | None: ...
    async def get_user_by_sub(self, sub: str) -> UserRecord | None: ...


class PublishedKeys(Protocol):
    async def jwks(self) -> dict[str, Any]: ...


class TokenExchangeGrant:
    grant_type = GRANT_TOKEN_EXCHANGE
    # ``audience`` is read too, but not claimed: other grants' clients send it as an extension (RFC 6749 §3.2).
    parameters = frozenset(
        {"subject_token", "subject_token_type", "actor_token", "actor_token_type", "requested_token_type"}
        | {"scope", "resource"}
    )

    def __init__(
        self,
        *,
        issuer: TokenIssuer,
        issuer_url: str,
        exchanges: TokenExchangeStore,
        access_tokens: AccessTokenVerifier,
        users: ExchangeUsers,
        clients: ClientStore,
        keys: PublishedKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
    ) -> None:
        self._issuer = issuer
        self._issuer_url = issuer_url
        self._exchanges = exchanges
        self._access_tokens = access_tokens
        self._users = users
        self._clients = clients
        self._keys = keys
        self._audit = audit_log
        self._clock = clock

    async def handle(
        self, client: ClientRecord, form: Mapping[str, str], ip: str | None, *, dpop_jkt: str | None = None
    ) -> IssuedTokens:
        if dpop_jkt is not None:
            # Said plainly rather than issuing a bearer token to a client that proved a key.
            raise InvalidRequest("Token exchange issues bearer tokens only; send the request without a DPoP proof")
        request = parse_token_exchange_request(form)
        policies = await self._exchanges.policies_of(client.info.client_id)
        check_client_may_exchange(client.info, policies)
        policy = choose_policy(policies, request.target)
        subject, user = await self._present(request.subject_token, request.subject_token_type, "subject_token")
        check_subject(policy, subject)
        actor = None
        if request.actor_token is not None and request.actor_token_type is not None:
            actor, _ = await self._present(request.actor_token, request.actor_token_type, "actor_token")
        check_actor(policy, actor)
        subject_scopes = subject.scopes if subject.scopes is not None else await self._scopes_of(subject.client_id)
        scopes = granted_scopes(request.scopes, subject_scopes, policy)
        now = self._clock()
        ends = (subject.expires_at, *((actor.expires_at,) if actor else ()))
        exchanged_lifetime(self._issuer.access_ttl_for(client.info), now, *ends)
        act = act_claim(actor, subject)
        issued = await self._issuer.issue(
            client,
            user,
            GRANT_TOKEN_EXCHANGE,
            scopes,
            resource=policy.audience,
            with_refresh=False,
            with_id_token=False,
            not_after=min(ends),
            act=act,
            ip=ip,
        )
        # Read back as any presented token is, whatever its format, for the grant that holds it.
        grant_id = (await self._access_tokens.load_access_token(issued.access_token)).grant_id
        if grant_id:
            await self._exchanges.add_exchange(
                ExchangeRecord(grant_id, subject.token_type, subject.client_id, act), self._clock()
            )
        await self._audit.record(
            audit.TOKEN_EXCHANGED,
            user_id=user.id,
            client_id=client.info.client_id,
            ip=ip,
            audience=policy.audience,
            subject_token_type=subject.token_type,
            subject_client_id=subject.client_id,
            actor_client_id=actor.client_id if actor else None,
            actor_sub=actor.subject if actor else None,
            scope=" ".join(scopes),
        )
        return IssuedTokens(
            issued.access_token,
            issued.expires_in,
            issued.scopes,
            extra={"issued_token_type": ACCESS_TOKEN_TYPE},
        )

    async def _present(self, token: str, token_type: str, role: str) -> tuple[PresentedToken, UserRecord]:
        if token_type == ID_TOKEN_TYPE:
            return await self._id_token(token, role)
        return await self._access_token(token, token_type, role)

    async def _access_token(self, token: str, token_type: str, role: str) -> tuple[PresentedToken, UserRecord]:
        """An access token of this server, opaque or (when the server issues them) a JWT; ``jwt`` names the
        latter only. Checked as the document API checks one: known, not revoked, not expired, client enabled."""
        if token_type == JWT_TOKEN_TYPE and not is_jwt_shaped(token):
            raise InvalidRequest(f"The {role} is not a JWT, as its type {JWT_TOKEN_TYPE} says")
        try:
            record = await self._access_tokens.load_access_token(token)
        except InvalidToken as exc:
            raise InvalidRequest(f"The {role} is not usable: {exc.description}") from None
        user = await self._active_user(record.user_id, role)
        exchange = await self._exchanges.get_exchange(record.grant_id)
        presented = PresentedToken(
            token_type,
            record.client_id,
            user.sub,
            record.scopes,
            record.expires_at,
            act=exchange.act if exchange is not None else None,
        )
        return presented, user

    async def _id_token(self, token: str, role: str) -> tuple[PresentedToken, UserRecord]:
        """An id_token this server signed with its published keys (an HS256 one, signed with a client's secret,
        proves nothing to anyone else and is refused), unexpired, issued to an enabled client."""
        now = self._clock()
        try:
            claims = verify_jwt(
                token,
                public_jwks=(await self._keys.jwks())["keys"],
                issuer=self._issuer_url,
                now=int(now.timestamp()),
            )
        except InvalidRequest as exc:
            raise InvalidRequest(
                f"The {role} is not a valid, unexpired id_token of this server", detail=exc.detail
            ) from None
        audience = claims.get("aud")
        client_id = audience[0] if isinstance(audience, list) and len(audience) == 1 else audience
        client_id = claims.get("azp", client_id)
        subject, expires = claims.get("sub"), claims.get("exp")
        if not isinstance(client_id, str) or not isinstance(subject, str) or not isinstance(expires, int):
            raise InvalidRequest(f"The {role} lacks its audience, subject or expiry")
        owner = await self._clients.get_client(client_id)
        if owner is None or not owner.info.is_enabled:
            raise InvalidRequest(f"The {role} was issued to a client that is disabled or gone")
        if owner.info.pairwise_sector is not None:
            # A pairwise sub is a keyed hash made for the client's sector: it names no user here.
            raise InvalidRequest(
                f"The {role} is an id_token with a pairwise subject, which cannot be exchanged; exchange the "
                "access token issued with it"
            )
        user = await self._users.get_user_by_sub(subject)
        if user is None or not user.is_enabled:
            raise InvalidRequest(f"The user of the {role} no longer exists or is disabled")
        presented = PresentedToken(ID_TOKEN_TYPE, client_id, user.sub, None, datetime.fromtimestamp(expires, UTC))
        return presented, user

    async def _active_user(self, user_id: int | None, role: str) -> UserRecord:
        user = await self._users.get_user(user_id) if user_id is not None else None
        if user is None or not user.is_enabled:
            raise InvalidRequest(f"The user of the {role} no longer exists or is disabled")
        return user

    async def _scopes_of(self, client_id: str) -> tuple[str, ...]:
        """An id_token names no scope: its client's registered scopes bound what may be asked for (within the
        policy), since the user signed in to that client for them."""
        owner = await self._clients.get_client(client_id)
        return owner.info.scopes if owner is not None else ()
