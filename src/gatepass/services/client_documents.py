"""Reading a small JSON document a client publishes at a URL: its JWKS (jwks_uri), its sector identifier
document (sector_identifier_uri).

The client's server is not ours to trust to answer well: a short timeout, a size limit, and every failure
one sentence that says what went wrong.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

FETCH_TIMEOUT_SECONDS = 5.0


class UnreadableDocument(Exception):
    """The document could not be read; the message finishes "... could not be read: <message>"."""


async def fetch_client_json(uri: str, *, max_bytes: int, transport: httpx.AsyncBaseTransport | None = None) -> Any:
    """The JSON at ``uri``, read with a timeout and at most ``max_bytes``; UnreadableDocument otherwise."""
    try:
        async with (
            httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, transport=transport) as http,
            http.stream("GET", uri, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise UnreadableDocument(f"it answered HTTP {response.status_code}")
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise UnreadableDocument(f"it is larger than {max_bytes // 1024} KiB")
    except httpx.HTTPError as exc:
        raise UnreadableDocument(type(exc).__name__) from None
    try:
        return json.loads(body)
    except ValueError:
        raise UnreadableDocument("it is not JSON") from None
