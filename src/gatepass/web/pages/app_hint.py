"""Which app a login is for: read from the authorization request waiting in ``next``, for "to continue to …"."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request

from gatepass.compat.frappe import FRAPPE_METHOD_PREFIX
from gatepass.protocol.values import ClientInfo
from gatepass.web.context import web

_AUTHORIZE_PATHS = ("/oauth/authorize", f"{FRAPPE_METHOD_PREFIX}.authorize")


async def waiting_app(request: Request, next_url: str) -> ClientInfo | None:
    """The enabled client whose authorization request ``next_url`` (a local path) resumes, if any."""
    parts = urlsplit(next_url)
    if parts.path not in _AUTHORIZE_PATHS:
        return None
    client_ids = parse_qs(parts.query).get("client_id") or []
    if len(client_ids) != 1 or not 0 < len(client_ids[0]) <= 128 or not client_ids[0].isprintable():
        return None
    record = await web(request).clients.get(client_ids[0])
    return record.info if record is not None and record.info.is_enabled else None
