"""The pushed authorization request endpoint (RFC 9126 §2): a client posts its authorization request
and gets a short-lived, single-use request_uri to send the browser with instead.

The steps, in order (each raises or returns):
1. the client, authenticated as at the token endpoint (``invalid_client``);
2. the parameters, without the client's credentials and without a request_uri (``invalid_request``);
3. the request, validated as the authorization endpoint validates it before any page (RFC 9126 §2.1);
4. the request stored under the digest of the request_uri's random reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatepass.protocol.rfc9126_par import build_pushed_params, build_request_uri
from gatepass.protocol.tokens import new_token
from gatepass.services.authorize import AuthorizeService
from gatepass.services.oauth.client_auth import ClientAuthenticator
from gatepass.services.stores import NewPushedRequest, PushedRequestStore


@dataclass(frozen=True)
class PushedRequest:
    """RFC 9126 §2.2: the answer to a push."""

    request_uri: str
    expires_in: int


class PushedAuthorizationEndpoint:
    def __init__(
        self,
        *,
        clients: ClientAuthenticator,
        authorize: AuthorizeService,
        store: PushedRequestStore,
        clock: Callable[[], datetime],
        ttl_seconds: int,
    ) -> None:
        self._clients = clients
        self._authorize = authorize
        self._store = store
        self._clock = clock
        self._ttl_seconds = ttl_seconds

    async def push(self, form: Mapping[str, str], authorization: str | None) -> PushedRequest:
        client = await self._clients.authenticate_client(form, authorization)
        params = build_pushed_params(form, client.info.client_id)
        self._authorize.check_pushed_request(params, client.info)
        reference = new_token()
        now = self._clock()
        await self._store.add_pushed_request(
            NewPushedRequest(
                reference_digest=self._clients.digest(reference),
                client_id=client.info.client_id,
                parameters=params,
                created_at=now,
                expires_at=now + timedelta(seconds=self._ttl_seconds),
            )
        )
        return PushedRequest(build_request_uri(reference), self._ttl_seconds)
