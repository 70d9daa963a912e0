"""What a request carries, read once at the edge: text no value may hold, and JSON bodies.

The path and the query string are checked for every request before routing (middleware.py), so no
endpoint passes a NUL or a lone surrogate on to a service, where a database would take it for an
outage. JSON bodies go through the one I-JSON parser (protocol/rfc7493_ijson.py), which refuses the
same characters when they arrive as ``\\u0000`` or ``\\ud800`` escapes.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import Scope

from gatepass.protocol.params import find_unusable_text
from gatepass.protocol.rfc7493_ijson import parse_json_text

_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def _shown(name: str) -> str:
    return _UNPRINTABLE.sub("?", name[:64])


def find_unusable_input(scope: Scope) -> str | None:
    """A sentence saying what to fix when the decoded path or query holds a NUL or a lone surrogate."""
    problem = find_unusable_text(scope["path"])
    if problem:
        return f"The URL path contains {problem}; no name or identifier holds one"
    raw_query: bytes = scope.get("query_string", b"")
    # Decoded as Starlette decodes it (Latin-1, then UTF-8 escapes): without a % or a NUL byte, nothing to find.
    if b"%" not in raw_query and b"\x00" not in raw_query:
        return None
    for name, value in parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True):
        problem = find_unusable_text(name) or find_unusable_text(value)
        if problem:
            return f"The query parameter '{_shown(name)}' contains {problem}; no parameter value holds one"
    return None


async def read_json_body(request: Request) -> Any:
    """The body parsed as I-JSON; raises JsonTextError. A client gone mid-body raises ClientDisconnect."""
    return parse_json_text(await request.body())
