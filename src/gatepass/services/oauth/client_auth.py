"""The first step of every back-channel request: which client is calling (RFC 6749 §2.3).

The token, revocation and introspection endpoints share it, and with it the digest under which a
token or code the client presents is stored.
"""

from __future__ import annotations

from collections.abc import Mapping

from gatepass.protocol.rfc6749.client_auth import check_client_authentication, parse_client_credentials
from gatepass.protocol.tokens import token_digest
from gatepass.services.crypto import InstanceKeys
from gatepass.services.stores import ClientRecord, ClientStore


class ClientAuthenticator:
    def __init__(self, clients: ClientStore, keys: InstanceKeys) -> None:
        self._clients = clients
        self._keys = keys

    def digest(self, token: str) -> str:
        """The stored form of a token or code: only its digest is ever written or looked up."""
        return token_digest(self._keys.digest_key, token)

    async def authenticate_client(self, form: Mapping[str, str], authorization: str | None) -> ClientRecord:
        """RFC 6749 §2.3 client authentication, as the client registered it; raises InvalidClient otherwise."""
        credentials = parse_client_credentials(authorization, form)
        record = await self._clients.get_client(credentials.client_id)
        check_client_authentication(credentials, record.info if record else None, self._keys.digest_key)
        assert record is not None
        return record
