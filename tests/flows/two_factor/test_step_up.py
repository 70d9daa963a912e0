"""Step-up in Chromium: an app asks for two factors (acr_values, or an essential acr in the claims parameter)
of a user logged in with a password; Gatepass asks for a code before the app gets its code, and the id_token
says how the user authenticated (amr, acr), checked with PyJWT against the published keys."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from two_factor_support import code_at, confirm_enrolment, log_in_with_password

from support.backchannel import SSL_CONTEXT, Backchannel
from support.browser import AUTHORIZE, catch_callback, code_request, redirect_params
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.server import REDIRECT_URI

pytestmark = pytest.mark.browser

MFA = "urn:gatepass:acr:mfa"
ONE_FACTOR = "urn:gatepass:acr:pwd"


async def _authorize(page: Any, server: ClockServer, client: dict[str, Any], **extra: str) -> tuple[str, Pkce]:
    """Send the browser to the authorization endpoint; allow on the consent page if it shows; the callback URL."""
    pkce = Pkce.new()
    request = code_request(client, pkce, scope="openid profile", nonce=secrets.token_urlsafe(8), **extra)
    callback = await catch_callback(page)
    await page.goto(f"{server.url}{AUTHORIZE}?{urlencode(request)}")
    if await page.locator("button[value=allow]").count():
        await page.click("button[value=allow]")
    url = await asyncio.wait_for(callback, timeout=15)
    # The route answers before the browser has loaded its answer: a navigation started now would cut it short.
    await page.wait_for_url(REDIRECT_URI + "*")
    return url, pkce


async def _silently(page: Any, server: ClockServer, client: dict[str, Any], **extra: str) -> tuple[str, Pkce]:
    """prompt=none with this browser's cookies: the authorization endpoint answers with a redirect at once."""
    pkce = Pkce.new()
    request = code_request(client, pkce, scope="openid profile", nonce=secrets.token_urlsafe(8), prompt="none", **extra)
    response = await page.context.request.get(f"{server.url}{AUTHORIZE}?{urlencode(request)}", max_redirects=0)
    assert response.status == 303, await response.text()
    return response.headers["location"], pkce


async def _id_token_claims(
    server: ClockServer, client: dict[str, Any], url: str, pkce: Pkce, *, refresh: bool = False
) -> dict[str, Any]:
    """The claims of the id_token the code is redeemed for (with ``refresh``: of the id_token of a refresh)."""
    async with httpx.AsyncClient(verify=SSL_CONTEXT) as http:
        backchannel = Backchannel(http, server)
        tokens = await backchannel.tokens(client, redirect_params(url)["code"], pkce)
        if refresh:
            tokens = await backchannel.refreshed(client, tokens["refresh_token"])
    keys = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json", cache_jwk_set=False)
    claims: dict[str, Any] = jwt.decode(
        tokens["id_token"],
        keys.get_signing_key_from_jwt(tokens["id_token"]).key,
        algorithms=["RS256"],
        audience=client["client_id"],
        issuer=server.url,
        # The server's clock runs ahead of this process's by what the tests moved it.
        leeway=int(server.clock.moved_seconds) + 1,
    )
    return claims


async def test_an_app_asking_for_two_factors_steps_a_password_login_up(page: Any, clock_server: ClockServer) -> None:
    client, user = clock_server.create_client(), clock_server.create_user()
    await log_in_with_password(page, clock_server, user)
    await page.goto(f"{clock_server.url}/account/two-factor")
    secret, _ = await confirm_enrolment(page, clock_server)
    clock_server.clock.advance(seconds=30)

    # The session is a password login: an app that asks nothing more gets it as it is.
    url, pkce = await _authorize(page, clock_server, client)
    claims = await _id_token_claims(clock_server, client, url, pkce)
    assert (claims["amr"], claims["acr"]) == (["pwd"], ONE_FACTOR)

    # prompt=none cannot show the second step: the app is told so.
    url, _ = await _silently(page, clock_server, client, acr_values=MFA)
    params = redirect_params(url)
    assert (params["error"], params["error_description"]) == (
        "login_required",
        "The app asks for a login with a second factor, which this login did not have",
    )

    pkce = Pkce.new()
    request = code_request(client, pkce, scope="openid profile", nonce="n-1", acr_values=MFA)
    await page.goto(f"{clock_server.url}{AUTHORIZE}?{urlencode(request)}")
    assert page.url.startswith(f"{clock_server.url}/login/second-factor?next=")
    assert "asks for a second factor" in (await page.text_content("p.note") or "")
    callback = await catch_callback(page)
    await page.fill("#code", code_at(secret, clock_server))
    await page.click("form[action='/login/second-factor'] button[type=submit]")
    url = await asyncio.wait_for(callback, timeout=15)
    claims = await _id_token_claims(clock_server, client, url, pkce)
    assert (claims["amr"], claims["acr"], claims["nonce"]) == (["pwd", "otp", "mfa"], MFA, "n-1")

    # The stepped-up session meets an essential acr at once, even with prompt=none.
    essential = json.dumps({"id_token": {"acr": {"essential": True, "values": [MFA]}}})
    url, pkce = await _silently(page, clock_server, client, claims=essential)
    claims = await _id_token_claims(clock_server, client, url, pkce, refresh=True)
    # OIDC Core §12.2: the id_token of a refresh tells of the same login.
    assert (claims["amr"], claims["acr"]) == (["pwd", "otp", "mfa"], MFA)


async def test_a_user_without_a_second_factor_sets_one_up_when_an_app_insists(
    page: Any, clock_server: ClockServer
) -> None:
    client, user = clock_server.create_client(), clock_server.create_user()
    await log_in_with_password(page, clock_server, user)
    essential = json.dumps({"id_token": {"acr": {"essential": True, "values": [MFA]}}})
    pkce = Pkce.new()
    request = code_request(client, pkce, scope="openid", nonce="n-2", claims=essential)
    await page.goto(f"{clock_server.url}{AUTHORIZE}?{urlencode(request)}")
    assert await page.title() == "Set up two-factor login · Gatepass"
    await confirm_enrolment(page, clock_server)
    callback = await catch_callback(page)
    async with page.expect_navigation():
        await page.click("text=I saved them, continue")
    if await page.locator("button[value=allow]").count():
        await page.click("button[value=allow]")
    url = await asyncio.wait_for(callback, timeout=15)
    claims = await _id_token_claims(clock_server, client, url, pkce)
    assert (claims["amr"], claims["acr"]) == (["pwd", "otp", "mfa"], MFA)
