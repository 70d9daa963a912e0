"""An authorization code + PKCE flow over plain HTTP, for the production tests."""

from __future__ import annotations

from typing import Any

import httpx

from support.backchannel import SSL_CONTEXT, Backchannel
from support.browser import HttpBrowser, code_request
from support.pkce import Pkce
from support.server import LiveServer


async def authorization_code_flow(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any], scope: str = "openid profile"
) -> dict[str, Any]:
    """Log in, allow, redeem the code; returns the token response plus the code used."""
    pkce = Pkce.new()
    async with HttpBrowser(server, user) as browser:
        code = (await browser.authorize(code_request(client, pkce, scope=scope))).code
    async with httpx.AsyncClient(timeout=60, verify=SSL_CONTEXT) as http:
        tokens = await Backchannel(http, server).tokens(client, code, pkce)
    return {**tokens, "code": code}
