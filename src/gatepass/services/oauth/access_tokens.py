"""The resource-server side of tokens: is a presented access token ours, live, and for whom.

``AccessTokenVerifier`` is what the document API (as its ``TokenVerifier``), userinfo and the
connected-apps "last used" see of the authorization server. It never issues anything; a token that
passes notes its grant's use, written later in one statement per worker (``flush_last_use``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from gatepass.protocol.errors import InvalidToken
from gatepass.protocol.rfc9068_jwt_access_token import looks_like_jwt
from gatepass.protocol.tokens import token_digest
from gatepass.protocol.values import Principal
from gatepass.services.crypto import InstanceKeys
from gatepass.services.oauth.dpop import BEARER, DpopVerifier, TokenPresentation
from gatepass.services.oauth.jwt_access_tokens import JwtAccessTokens
from gatepass.services.stores import AccessTokenRecord

#: How precisely a grant's last use is kept, and how many grants a worker remembers having noted.
LAST_USE_RESOLUTION = timedelta(seconds=60)
_LAST_USE_MEMORY = 100_000


class AccessTokenStore(Protocol):
    async def get_access_token(self, token_digest: str) -> AccessTokenRecord | None: ...
    async def touch_grants(self, grant_ids: list[int], now: datetime) -> None: ...


class AccessTokenVerifier:
    def __init__(
        self,
        *,
        tokens: AccessTokenStore,
        keys: InstanceKeys,
        clock: Callable[[], datetime],
        api_resource: str | None = None,
        jwt_access_tokens: JwtAccessTokens | None = None,
        dpop: DpopVerifier,
    ) -> None:
        self._tokens = tokens
        self._dpop = dpop
        self._keys = keys
        self._clock = clock
        self._api_resource = api_resource
        self._jwts = jwt_access_tokens
        self._last_use_noted: dict[int, datetime] = {}
        self._uses_to_write: set[int] = set()

    async def load_access_token(self, token: str, presented: TokenPresentation = BEARER) -> AccessTokenRecord:
        """The stored access token, or InvalidToken saying whether it is unknown, expired or revoked; a DPoP-bound
        one only as ``presented`` with a proof by its key (RFC 9449 §7).

        A token that passes is an app using its access: its grant's last use is noted (see _note_use).
        """
        if self._jwts is not None and looks_like_jwt(token):
            record: AccessTokenRecord | None = await self._jwts.load(token)
        else:
            record = await self._tokens.get_access_token(token_digest(self._keys.digest_key, token))
        if record is None:
            raise InvalidToken("The access token is invalid")
        if record.revoked_at is not None:
            raise InvalidToken("The access token has been revoked")
        now = self._clock()
        if record.expires_at <= now:
            raise InvalidToken("The access token has expired; use the refresh token to get a new one")
        if not record.is_client_enabled:
            # Disabling a client revokes its grants; this also stops a token issued while it was being disabled.
            raise InvalidToken("The access token was issued to a client that is disabled")
        await self._dpop.check_presentation(record.dpop_jkt, token, presented)
        if record.grant_id:
            # A client-credentials JWT has no grant whose use to note.
            self._note_use(record.grant_id, now)
        return record

    async def authenticate_bearer(self, token: str, presented: TokenPresentation = BEARER) -> Principal:
        """The principal of a token presented to the document API."""
        record = await self.load_access_token(token, presented)
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

    async def flush_last_use(self) -> int:
        """Write the last use of every grant used since the previous flush; returns how many."""
        if not self._uses_to_write:
            return 0
        grant_ids, self._uses_to_write = sorted(self._uses_to_write), set()
        await self._tokens.touch_grants(grant_ids, self._clock())
        return len(grant_ids)

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
