"""Pushed authorization requests (RFC 9126) end to end: oauth4webapi pushes the request, the browser
brings only client_id and request_uri, the user logs in and consents, and the library redeems the code.

The request_uri is single-use, yet the request must survive the login page and the consent form that
come after its one use: the browser carries it back sealed, and these tests walk that whole round trip.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from par_support import (
    REQUEST_URI_PREFIX,
    authorize_as_new_user,
    authorize_url,
    library_client,
    pushed_code_request,
    pushed_request_uri,
    run_oauth4webapi,
)

from support.backchannel import Backchannel
from support.browser import FRAPPE_AUTHORIZE, HttpBrowser, assert_error_redirect, is_client_redirect
from support.pkce import Pkce
from support.provision import World
from support.server import REDIRECT_URI, LiveServer


@pytest.fixture(scope="module")
def par_client(server: LiveServer) -> dict[str, Any]:
    """A confidential client registered to send its authorization requests only through PAR."""
    return server.create_client("--require-par", name="PAR Only App")


@pytest.mark.parametrize("name", ["web", "post", "spa"], ids=["client_secret_basic", "client_secret_post", "public"])
async def test_oauth4webapi_pushes_the_request_and_redeems_the_code_after_login_and_consent(
    world: World, name: str
) -> None:
    server, client = world.server, world.client(name)
    arguments = library_client(server, client)
    status, pushed = await run_oauth4webapi("push", arguments)
    assert status == 0, pushed
    assert pushed["request_uri"].startswith(REQUEST_URI_PREFIX)
    assert len(pushed["request_uri"]) - len(REQUEST_URI_PREFIX) >= 43, "the reference carries 256 random bits"
    assert pushed["expires_in"] == 60
    # RFC 9126 §4: the browser sees client_id and request_uri, nothing of the request itself.
    query = dict(parse_qsl(urlsplit(pushed["authorization_url"]).query))
    assert query == {"client_id": client["client_id"], "request_uri": pushed["request_uri"]}

    outcome = await authorize_as_new_user(server, pushed["authorization_url"])
    assert outcome.pages == ["login", "consent"]
    assert is_client_redirect(outcome.location)
    assert outcome.params["state"] == pushed["state"]

    redeem = {
        **arguments,
        "callback_url": outcome.location,
        **{k: pushed[k] for k in ("code_verifier", "state", "nonce")},
    }
    status, tokens = await run_oauth4webapi("redeem", redeem)
    assert status == 0, tokens
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["scope"] == "openid profile email"
    assert {"access_token", "id_token", "refresh_token"} <= set(tokens)


async def test_a_client_required_to_push_completes_the_flow_at_frappes_authorize_path(
    server: LiveServer, api: Backchannel, par_client: dict[str, Any]
) -> None:
    pkce = Pkce.new()
    request_uri = await pushed_request_uri(server, par_client, pushed_code_request(pkce))
    outcome = await authorize_as_new_user(server, authorize_url(par_client, request_uri, path=FRAPPE_AUTHORIZE))
    assert outcome.pages == ["login", "consent"]
    assert outcome.params["state"] == "pushed-state"
    tokens = await api.tokens(par_client, outcome.code, pkce)
    assert tokens["scope"] == "openid profile email"


async def test_only_the_pushed_parameters_count_beside_request_uri(world: World, api: Backchannel) -> None:
    server, client = world.server, world.client("web")
    pkce = Pkce.new()
    request_uri = await pushed_request_uri(server, client, pushed_code_request(pkce, scope="openid"))
    # RFC 9126 §4: anything sent beside client_id and request_uri is ignored, not merged.
    url = authorize_url(
        client, request_uri, redirect_uri="https://evil.example/cb", scope="openid all", state="not-pushed"
    )
    outcome = await authorize_as_new_user(server, url)
    assert is_client_redirect(outcome.location, REDIRECT_URI)
    assert outcome.params["state"] == "pushed-state"
    tokens = await api.tokens(client, outcome.code, pkce)
    assert tokens["scope"] == "openid"


async def test_a_pushed_prompt_login_asks_once_and_comes_back_with_a_code(world: World, api: Backchannel) -> None:
    server, client = world.server, world.client("web")
    pkce = Pkce.new()
    async with HttpBrowser(server, server.create_user()) as browser:
        await browser.login()
        request_uri = await pushed_request_uri(server, client, pushed_code_request(pkce, prompt="login"))
        outcome = await browser.authorize_url(authorize_url(client, request_uri))
    assert outcome.pages == ["login", "consent"]
    assert (await api.tokens(client, outcome.code, pkce))["scope"] == "openid profile email"


async def test_denying_consent_to_a_pushed_request_tells_the_client_with_its_pushed_state(world: World) -> None:
    server, client = world.server, world.client("web")
    request_uri = await pushed_request_uri(server, client, pushed_code_request(Pkce.new()))
    outcome = await authorize_as_new_user(server, authorize_url(client, request_uri), decision="deny")
    assert_error_redirect(outcome, server, "access_denied", "The user denied the request", state="pushed-state")


async def test_a_client_required_to_push_is_refused_a_plain_request_at_its_redirect_uri(
    server: LiveServer, par_client: dict[str, Any]
) -> None:
    request = {"client_id": par_client["client_id"], **pushed_code_request(Pkce.new())}
    async with HttpBrowser(server, server.create_user()) as browser:
        outcome = await browser.authorize(request)
    assert outcome.pages == []
    description = (
        "This client must push its authorization requests to the pushed authorization request endpoint, "
        "then send only client_id and request_uri here"
    )
    assert_error_redirect(outcome, server, "invalid_request", description, state="pushed-state")


@pytest.mark.browser
async def test_chromium_carries_a_pushed_request_through_login_and_consent(
    sqlite_server: LiveServer, page: Any
) -> None:
    client, user = sqlite_server.create_client(name="Pushed Browser App"), sqlite_server.create_user()
    arguments = library_client(sqlite_server, client)
    status, pushed = await run_oauth4webapi("push", arguments)
    assert status == 0, pushed
    landed: list[str] = []

    async def capture(route: Any) -> None:
        landed.append(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="callback reached")

    # Nothing listens on the redirect URI: the browser's request to it is answered here.
    await page.route(f"{REDIRECT_URI}**", capture)
    await page.goto(pushed["authorization_url"])
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Allow")
    assert "Allow Pushed Browser App to access your account?" in await page.inner_text("main")
    await page.click("button[value=allow]")
    await page.wait_for_url(lambda url: url.startswith(REDIRECT_URI))

    assert len(landed) == 1
    redeem = {
        **arguments,
        "callback_url": landed[0],
        **{k: pushed[k] for k in ("code_verifier", "state", "nonce")},
    }
    status, tokens = await run_oauth4webapi("redeem", redeem)
    assert status == 0, tokens
    assert tokens["scope"] == "openid profile email"
