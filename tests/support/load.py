"""Many small requests at once, for the tests that need load rather than a client library's behaviour.

httpx spends some 4 ms of CPU per request (its connection pool, models and h11 state machine): for a test
that sends thousands of requests on a two-core machine that is most of the run, and the server under test
gets less of the CPU than the client. Here each request is one HTTP/1.1 exchange on its own TCP connection
(``Connection: close``, so the kernel spreads them over the server's workers), read to its end.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def post_form(
    url: str, form: Mapping[str, str], *, basic: tuple[str, str] | None = None, timeout: float = 60
) -> Answer:
    """POST an application/x-www-form-urlencoded body to ``url`` (http only), with HTTP Basic when given."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.hostname and parts.port, url
    body = urlencode(form).encode()
    head = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if basic is not None:
        head.append("Authorization: Basic " + base64.b64encode(":".join(basic).encode()).decode())
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    return await asyncio.wait_for(_exchange(parts.hostname, parts.port, request), timeout)


async def _exchange(host: str, port: int, request: bytes) -> Answer:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        response = await reader.read()
    finally:
        writer.close()
    head, separator, body = response.partition(b"\r\n\r\n")
    if not separator:
        raise AssertionError(f"the connection closed before a whole HTTP response: {response[:200]!r}")
    status_line, *header_lines = head.split(b"\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding") == b"chunked":
        body = _dechunked(body)
    elif b"content-length" in headers:
        assert len(body) == int(headers[b"content-length"]), (len(body), headers[b"content-length"])
    return Answer(status=int(status_line.split()[1]), body=body)


def _dechunked(body: bytes) -> bytes:
    whole, rest = b"", body
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return whole
        whole, rest = whole + rest[:size], rest[size + 2 :]
