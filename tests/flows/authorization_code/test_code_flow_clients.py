"""Whole code + PKCE flows driven by real client libraries, on every backend, and by real Chromium.

Authlib's AsyncOAuth2Client and requests-oauthlib's OAuth2Session each run code + PKCE, then
introspection, refresh and revocation, the way an integrator's app would.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from authlib.common.security import generate_token
from flows_support import AsyncOAuth2Client
from requests_oauthlib import OAuth2Session

from support.backchannel import INACTIVE, INTROSPECT, REVOKE, SSL_CONTEXT, TOKEN, Backchannel
from support.browser import AUTHORIZE, HttpBrowser, code_request, logged_in, redirect_params
from support.pkce import Pkce
from support.provision import World
from support.server import REDIRECT_URI

SCOPE = "openid profile email"


async def test_authlib_runs_code_pkce_refresh_introspect_and_revoke(world: World, api: Backchannel) -> None:
    server, user, web, rs = world.server, world.user("alice"), world.client("web"), world.client("rs")
    async with (
        HttpBrowser(server, user) as browser,
        AsyncOAuth2Client(
            verify=SSL_CONTEXT,
            client_id=web["client_id"],
            client_secret=web["client_secret"],
            token_endpoint_auth_method="client_secret_basic",
            redirect_uri=REDIRECT_URI,
            scope=SCOPE,
            code_challenge_method="S256",
        ) as oauth,
    ):
        verifier = generate_token(48)
        url, state = oauth.create_authorization_url(server.url + AUTHORIZE, code_verifier=verifier)
        outcome = await browser.authorize_url(url)
        assert outcome.pages[0] == "login"
        assert set(outcome.params) == {"code", "state", "iss"}
        assert (outcome.params["state"], outcome.params["iss"]) == (state, server.url)

        token = await oauth.fetch_token(
            server.url + TOKEN, authorization_response=outcome.location, code_verifier=verifier, state=state
        )
        assert token["token_type"] == "Bearer"
        assert token["expires_in"] == 3600
        assert token["scope"] == SCOPE
        assert {"access_token", "refresh_token"} <= set(token)

        seen = await api.introspect(rs, token["access_token"])
        assert (seen["active"], seen["username"], seen["sub"], seen["client_id"]) == (
            True,
            user["email"],
            user["sub"],
            web["client_id"],
        )

        renewed = await oauth.refresh_token(server.url + TOKEN)
        assert renewed["refresh_token"] != token["refresh_token"]
        assert renewed["access_token"] != token["access_token"]
        assert renewed["scope"] == SCOPE

        introspected = await oauth.introspect_token(server.url + INTROSPECT, token=renewed["access_token"])
        assert introspected.status_code == 200
        assert introspected.json()["username"] == user["email"]

        revoked = await oauth.revoke_token(
            server.url + REVOKE, token=renewed["refresh_token"], token_type_hint="refresh_token"
        )
        assert (revoked.status_code, revoked.json()) == (200, {})
        for value in (renewed["access_token"], renewed["refresh_token"]):
            assert await api.introspect(rs, value) == INACTIVE


async def test_authlib_public_client_needs_no_secret(world: World, api: Backchannel) -> None:
    server, spa = world.server, world.client("spa")
    browser = await logged_in(server, world.user("bob"))
    async with AsyncOAuth2Client(
        verify=SSL_CONTEXT,
        client_id=spa["client_id"],
        token_endpoint_auth_method="none",
        redirect_uri=REDIRECT_URI,
        scope="openid all",
        code_challenge_method="S256",
    ) as oauth:
        verifier = generate_token(64)
        url, state = oauth.create_authorization_url(server.url + AUTHORIZE, code_verifier=verifier)
        outcome = await browser.authorize_url(url)
        token = await oauth.fetch_token(
            server.url + TOKEN, authorization_response=outcome.location, code_verifier=verifier, state=state
        )
        assert token["scope"] == "openid all"
        renewed = await oauth.refresh_token(server.url + TOKEN)
        assert renewed["scope"] == "openid all"
        seen = await api.introspect(world.client("rs"), renewed["access_token"])
        assert (seen["active"], seen["username"]) == (True, world.user("bob")["email"])


def _requests_oauthlib_flow(server_url: str, client: dict[str, Any], redirect_to: Any) -> dict[str, Any]:
    """Runs in a thread: requests-oauthlib is synchronous."""
    session = OAuth2Session(client["client_id"], redirect_uri=REDIRECT_URI, scope=["openid", "email"], pkce="S256")
    url, state = session.authorization_url(server_url + AUTHORIZE)
    callback = redirect_to(url)
    assert redirect_params(callback)["state"] == state
    token: dict[str, Any] = session.fetch_token(
        server_url + TOKEN,
        authorization_response=callback,
        auth=requests.auth.HTTPBasicAuth(client["client_id"], client["client_secret"]),
    )
    assert session.authorized
    renewed: dict[str, Any] = session.refresh_token(
        server_url + TOKEN,
        refresh_token=token["refresh_token"],
        auth=requests.auth.HTTPBasicAuth(client["client_id"], client["client_secret"]),
    )
    introspected = requests.post(
        server_url + INTROSPECT,
        data={"token": renewed["access_token"]},
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    ).json()
    revoked = requests.post(
        server_url + REVOKE,
        data={"token": renewed["access_token"], "token_type_hint": "access_token"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    )
    after = requests.post(
        server_url + INTROSPECT,
        data={"token": renewed["refresh_token"]},
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    ).json()
    return {
        "token": token,
        "renewed": renewed,
        "introspected": introspected,
        "revoked": (revoked.status_code, revoked.json()),
        "after": after,
    }


async def test_requests_oauthlib_runs_code_pkce_refresh_introspect_and_revoke(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # oauthlib insists on https; the test server is plain http on 127.0.0.1.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    server, user, web = world.server, world.user("bob"), world.client("web")
    loop = asyncio.get_running_loop()
    browser = await logged_in(server, user)

    def redirect_to(url: str) -> str:
        return asyncio.run_coroutine_threadsafe(browser.authorize_url(url), loop).result(60).location

    result = await asyncio.to_thread(_requests_oauthlib_flow, server.url, web, redirect_to)
    token, renewed = result["token"], result["renewed"]
    assert token["token_type"] == "Bearer"
    assert token["scope"] == ["openid", "email"]  # oauthlib splits the scope string
    assert renewed["refresh_token"] != token["refresh_token"]
    assert result["introspected"]["active"] is True
    assert result["introspected"]["username"] == user["email"]
    assert result["introspected"]["email"] == user["email"]
    assert result["revoked"] == (200, {})
    # Revoking the access token took its refresh token with it.
    assert result["after"] == INACTIVE


@pytest.mark.browser
async def test_chromium_logs_in_consents_and_lands_on_the_redirect_uri(
    sqlite_world: World, sqlite_api: Backchannel, page: Any
) -> None:
    server, user, web = sqlite_world.server, sqlite_world.user("carol"), sqlite_world.client("browser_app")
    pkce = Pkce.new()
    request = code_request(web, pkce, scope="openid profile email all")
    landed: list[str] = []

    async def capture(route: Any) -> None:
        landed.append(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="callback reached")

    # Nothing listens on 127.0.0.1:9999: the browser's request to it is answered here.
    await page.route("http://127.0.0.1:9999/**", capture)
    await page.goto(f"{server.url}{AUTHORIZE}?{urlencode(request)}")
    assert page.url.startswith(f"{server.url}/login")
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    await page.click("button[type=submit]")

    await page.wait_for_selector("text=Allow")
    consent = await page.inner_text("main")
    # The app's name, who is logged in, and each scope in plain words.
    assert "Allow Browser App to access your account?" in consent
    assert user["email"] in consent
    assert "Deny" in consent
    for words in ("Know who you are", "See your email address", "Act as you in the document API"):
        assert words in consent

    await page.click("button[value=allow]")
    await page.wait_for_url(lambda url: url.startswith(REDIRECT_URI))
    assert len(landed) == 1
    assert await page.inner_text("body") == "callback reached"
    params = redirect_params(landed[0])
    assert (params["state"], params["iss"]) == (request["state"], server.url)

    tokens = await sqlite_api.tokens(web, params["code"], pkce)
    assert tokens["scope"] == "openid profile email all"
    seen = await sqlite_api.introspect(sqlite_world.client("rs"), tokens["access_token"])
    assert seen["username"] == user["email"]
