"""Reading a request object (RFC 9101) sent by a client: its keys loaded, its signature and claims checked,
the authorization request it carries returned (protocol/rfc9101_request_object.py decides)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from gatepass.protocol.errors import InvalidClient, InvalidRequest, InvalidRequestObject
from gatepass.protocol.fapi2_security_profile import ALGORITHMS as FAPI2_ALGORITHMS
from gatepass.protocol.fapi2_security_profile import is_fapi2
from gatepass.protocol.rfc7523_client_assertion import SECRET_ALGORITHMS
from gatepass.protocol.rfc9101_request_object import (
    UnknownRequestObjectKey,
    allowed_algorithms,
    parse_request_object,
    verify_request_object,
)
from gatepass.protocol.values import ClientInfo
from gatepass.services.crypto import InstanceKeys
from gatepass.services.oauth.client_auth import kept_secret
from gatepass.services.oauth.client_keys import ClientKeys
from gatepass.services.stores import ClientRecord, ClientStore


class RequestObjectReader:
    def __init__(
        self,
        *,
        clients: ClientStore,
        client_keys: ClientKeys,
        keys: InstanceKeys,
        issuer: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._clients = clients
        self._client_keys = client_keys
        self._keys = keys
        self._issuer = issuer
        self._clock = clock

    async def read_at_authorization(self, params: Mapping[str, str]) -> dict[str, str]:
        """The parameters of the object in an authorization request; errors are for a page, since the
        redirect URI is inside the object."""
        client_id = params.get("client_id")
        if client_id is None:
            # RFC 9101 §5: client_id travels beside the object, so the server knows whose keys to check it with.
            raise InvalidRequest("Missing required parameter 'client_id': send it beside request")
        record = await self._clients.get_client(client_id)
        if record is None or not record.info.is_enabled:
            raise InvalidClient(f"No enabled client is registered with client_id '{client_id}'")
        return await self.read(params["request"], record)

    async def read(self, token: str, record: ClientRecord) -> dict[str, str]:
        """The authorization request in ``token``, signed by the client of ``record``."""
        request_object = parse_request_object(token)
        info = record.info
        algorithms = allowed_algorithms(info, profile_algorithms=FAPI2_ALGORITHMS if is_fapi2(info) else None)
        now = int(self._clock().timestamp())
        if request_object.alg in SECRET_ALGORITHMS:
            secret = kept_secret(self._keys, record)
            return verify_request_object(
                request_object, client=info, issuer=self._issuer, now=now, algorithms=algorithms, secret=secret
            )
        try:
            return verify_request_object(
                request_object,
                client=info,
                issuer=self._issuer,
                now=now,
                algorithms=algorithms,
                public_jwks=await self._public_jwks(info, reread=False),
            )
        except UnknownRequestObjectKey:
            if info.jwks_uri is None or info.jwks is not None:
                raise
        return verify_request_object(
            request_object,
            client=info,
            issuer=self._issuer,
            now=now,
            algorithms=algorithms,
            public_jwks=await self._public_jwks(info, reread=True),
        )

    async def _public_jwks(self, info: ClientInfo, *, reread: bool) -> list[dict[str, Any]]:
        if info.jwks is None and info.jwks_uri is None:
            raise InvalidRequestObject(
                "This client has no keys registered to check its request objects: an admin must set its jwks or "
                "jwks_uri"
            )
        try:
            return await self._client_keys.public_jwks(info, reread=reread)
        except InvalidClient as exc:
            raise InvalidRequestObject(exc.description, detail=exc.detail) from None
