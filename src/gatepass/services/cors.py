"""Which browser origins may call the back-channel endpoints: those of the clients' redirect URIs.

Derived from each enabled client's registered redirect URIs (http and https only) plus the origins
listed on the client. Cached for a few seconds per worker: origins change rarely, and CORS only
decides whether a browser may read a response, never who is authorised.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from gatepass.services.stores import ClientStore

_TTL_SECONDS = 5.0
_RECHECK_SECONDS = 0.5


def origin_of(uri: str) -> str | None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class CorsPolicy:
    def __init__(self, clients: ClientStore) -> None:
        self._clients = clients
        self._cached: frozenset[str] = frozenset()
        self._cached_at = float("-inf")

    async def allowed_origins(self, *, max_age_seconds: float = _TTL_SECONDS) -> frozenset[str]:
        if time.monotonic() - self._cached_at > max_age_seconds:
            origins: set[str] = set()
            for record in await self._clients.list_clients():
                if not record.info.is_enabled:
                    continue
                for uri in (*record.info.redirect_uris, *record.info.allowed_origins):
                    origin = origin_of(uri)
                    if origin:
                        origins.add(origin)
            self._cached, self._cached_at = frozenset(origins), time.monotonic()
        return self._cached

    async def is_allowed(self, origin: str) -> bool:
        origin = origin.lower()
        if origin in await self.allowed_origins():
            return True
        # A client registered a moment ago must not wait for the cache: look again, at most twice a second.
        return origin in await self.allowed_origins(max_age_seconds=_RECHECK_SECONDS)
