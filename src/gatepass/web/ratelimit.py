"""Applying the rate limits: per IP and per client on the token, revocation, introspection and login endpoints."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from starlette.requests import Request

from gatepass.http.rate_limit import check_rate
from gatepass.web.context import client_ip, web

__all__ = ["check_backchannel_rate", "check_rate", "claimed_client_id"]


def claimed_client_id(request: Request, form: dict[str, str]) -> str | None:
    """Who the request says it is, before authentication (only to key the limit)."""
    authorization = request.headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return unquote_plus(decoded.split(":", 1)[0])
    return form.get("client_id")


async def check_backchannel_rate(request: Request, form: dict[str, str], *, endpoint: str) -> None:
    limits = web(request).rate_limits
    # A limit of 0 is off: then nothing is parsed or counted for it.
    if endpoint == "introspect":
        per_client = limits.introspection_per_client_per_minute
        client_id = claimed_client_id(request, form) if per_client > 0 else None
        if client_id:
            await check_rate(request, "introspect-client", client_id, per_client)
        return
    if limits.token_per_ip_per_minute > 0:
        ip = client_ip(request) or "unknown"
        await check_rate(request, f"{endpoint}-ip", ip, limits.token_per_ip_per_minute)
    client_id = claimed_client_id(request, form) if limits.token_per_client_per_minute > 0 else None
    if client_id:
        await check_rate(request, f"{endpoint}-client", client_id, limits.token_per_client_per_minute)
