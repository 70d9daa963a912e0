"""The public keys a private_key_jwt client signs with: registered inline, or read from its jwks_uri.

A jwks_uri is read with a short timeout and a size limit (the client's server is not ours to trust to
answer well), and kept a few minutes per worker; a key the cached set lacks makes one early re-read, so a
client that rotates its keys is not refused until the cache expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from gatepass.protocol.errors import InvalidClient
from gatepass.protocol.values import ClientInfo
from gatepass.services.client_documents import UnreadableDocument, fetch_client_json

MAX_JWKS_BYTES = 64 * 1024
CACHE_SECONDS = 300.0
#: An unknown kid re-reads the set at most this often: a stranger's assertions must not make us fetch.
REFETCH_AFTER_SECONDS = 10.0


class ClientKeys:
    def __init__(
        self, *, transport: httpx.AsyncBaseTransport | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._transport = transport
        self._monotonic = monotonic
        self._cached: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    async def public_jwks(self, client: ClientInfo, *, reread: bool = False) -> list[dict[str, Any]]:
        """The client's keys; ``reread`` after a kid was not found (ignored when read moments ago)."""
        if client.jwks is not None:
            return _keys_of(client.jwks, "jwks")
        if client.jwks_uri is None:
            raise InvalidClient(
                "This client has no keys registered for private_key_jwt: an admin must set its jwks or jwks_uri"
            )
        now = self._monotonic()
        cached = self._cached.get(client.jwks_uri)
        if cached is not None:
            age = now - cached[0]
            if age < CACHE_SECONDS and not (reread and age >= REFETCH_AFTER_SECONDS):
                return cached[1]
        keys = await self._fetch(client.jwks_uri)
        self._cached[client.jwks_uri] = (now, keys)
        return keys

    async def _fetch(self, uri: str) -> list[dict[str, Any]]:
        try:
            document = await fetch_client_json(uri, max_bytes=MAX_JWKS_BYTES, transport=self._transport)
        except UnreadableDocument as exc:
            raise InvalidClient(f"The client's jwks_uri {uri} could not be read: {exc}") from None
        return _keys_of(document, "jwks_uri")


def _keys_of(document: Any, where: str) -> list[dict[str, Any]]:
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise InvalidClient(f"The client's {where} is not a JWK Set: it needs a keys list")
    return [key for key in keys if isinstance(key, dict)]
