"""What the passkey tests share: Chromium's virtual authenticator (CDP WebAuthn domain) and a person's steps."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from support.backchannel import SSL_CONTEXT, Backchannel
from support.browser import AUTHORIZE, code_request, redirect_params
from support.console import log_in_page
from support.pkce import Pkce
from support.server import REDIRECT_URI, LiveServer

PASSWORDLESS_BUTTON = "form[action='/login/passkey'][data-passkey=get] button"
ADD_BUTTON = "form[data-passkey=create] button"


async def add_authenticator(page: Any) -> tuple[Any, str]:
    """A platform authenticator with a built-in user verification that always succeeds (Touch ID, say)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    added = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
            }
        },
    )  # fmt: skip
    return cdp, added["authenticatorId"]


async def log_in_with_password(page: Any, server: LiveServer, user: dict[str, Any], next_path: str = "/") -> None:
    await page.goto(f"{server.url}/login?{urlencode({'next': next_path})}")
    await log_in_page(page, user["email"], user["password"])


async def add_passkey(page: Any, server: LiveServer, name: str) -> None:
    await page.goto(f"{server.url}/account/passkeys")
    await page.fill("#passkey-name", name)
    async with page.expect_navigation():
        await page.click(ADD_BUTTON)


async def user_with_passkey(page: Any, server: LiveServer, name: str) -> tuple[dict[str, Any], Any, str]:
    """A new user who added a passkey on this page's authenticator, then closed the browser (no session left);
    the user, the CDP session and the authenticator's id."""
    user = server.create_user()
    cdp, authenticator = await add_authenticator(page)
    await log_in_with_password(page, server, user)
    await add_passkey(page, server, name)
    await page.context.clear_cookies()
    return user, cdp, authenticator


async def alert(page: Any) -> str:
    return (await page.locator("[role=alert]:visible").first.text_content() or "").strip()


def authorization_request(client: dict[str, Any], **extra: str) -> tuple[str, Pkce]:
    pkce = Pkce.new()
    request = code_request(client, pkce, scope="openid", nonce=secrets.token_urlsafe(8), **extra)
    return f"{AUTHORIZE}?{urlencode(request)}", pkce


async def allow_and_wait(page: Any, callback: asyncio.Future[str]) -> str:
    """Allow on the consent page if it shows (the passkey's script navigates when its ceremony is done); the
    URL the app is sent to."""
    consent = asyncio.ensure_future(page.locator("button[value=allow]").wait_for(timeout=15_000))
    await asyncio.wait([consent, callback], return_when=asyncio.FIRST_COMPLETED, timeout=15)
    if consent.done() and not callback.done():
        await page.click("button[value=allow]")
    else:
        consent.cancel()
    url = await asyncio.wait_for(callback, timeout=15)
    # The route answered the request; the page is the app's only once that navigation has committed, and a
    # navigation begun before then (the test's next goto) would be cut off by it.
    await page.wait_for_url(REDIRECT_URI + "*", timeout=15_000)
    return url


async def id_token_claims(server: LiveServer, client: dict[str, Any], url: str, pkce: Pkce) -> dict[str, Any]:
    """The claims of the id_token the code is redeemed for, checked with PyJWT against the published keys."""
    async with httpx.AsyncClient(verify=SSL_CONTEXT) as http:
        tokens = await Backchannel(http, server).tokens(client, redirect_params(url)["code"], pkce)
    keys = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json", cache_jwk_set=False)
    claims: dict[str, Any] = jwt.decode(
        tokens["id_token"], keys.get_signing_key_from_jwt(tokens["id_token"]).key, algorithms=["RS256"],
        audience=client["client_id"], issuer=server.url,
    )  # fmt: skip
    return claims
