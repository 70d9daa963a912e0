"""requests-oauthlib's refresh_token() as its documentation shows it: the secret goes in the form body.

Its fetch_token() sends the secret by HTTP Basic, so a default (client_secret_basic) client gets its
first tokens and then fails at the first refresh. The error says how to fix that; a client registered
as Frappe-legacy accepts both ways, as Frappe does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from oauthlib.oauth2.rfc6749.errors import InvalidClientError  # type: ignore[import-untyped]
from requests_oauthlib import OAuth2Session

from support.backchannel import BASIC_CLIENT_USED_POST, FRAPPE_TOKEN
from support.browser import FRAPPE_AUTHORIZE, logged_in
from support.provision import World
from support.server import REDIRECT_URI


def _fetch_then_refresh(server_url: str, client: dict[str, Any], redirect_to: Callable[[str], str]) -> dict[str, Any]:
    """Runs in a thread (requests-oauthlib is synchronous); returns the tokens, or the refresh's error."""
    session = OAuth2Session(client["client_id"], redirect_uri=REDIRECT_URI, scope=["openid", "all"], pkce="S256")
    url, _ = session.authorization_url(server_url + FRAPPE_AUTHORIZE)
    first = session.fetch_token(
        server_url + FRAPPE_TOKEN, authorization_response=redirect_to(url), client_secret=client["client_secret"]
    )
    try:
        renewed = session.refresh_token(
            server_url + FRAPPE_TOKEN, client_id=client["client_id"], client_secret=client["client_secret"]
        )
    except InvalidClientError as error:
        return {"first": first, "error": error}
    return {"first": first, "renewed": renewed}


async def _run(world: World, client_name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    # oauthlib insists on https; the test server is plain http on 127.0.0.1.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    loop = asyncio.get_running_loop()
    browser = await logged_in(world.server, world.user("bob"))

    def redirect_to(url: str) -> str:
        return asyncio.run_coroutine_threadsafe(browser.authorize_url(url), loop).result(60).location

    return await asyncio.to_thread(_fetch_then_refresh, world.server.url, world.client(client_name), redirect_to)


async def test_a_default_client_refreshing_with_its_secret_in_the_body_is_told_how_to_fix_it(
    sqlite_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await _run(sqlite_world, "web", monkeypatch)
    assert result["first"]["token_type"] == "Bearer"
    error: InvalidClientError = result["error"]
    assert (error.status_code, error.description) == (401, BASIC_CLIENT_USED_POST)
    assert "--auth-method client_secret_post" in error.description


async def test_a_frappe_legacy_client_refreshes_with_its_secret_in_the_body(
    sqlite_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await _run(sqlite_world, "legacy", monkeypatch)
    first, renewed = result["first"], result["renewed"]
    assert renewed["token_type"] == "Bearer"
    assert renewed["access_token"] != first["access_token"]
    assert renewed["refresh_token"] != first["refresh_token"]
    assert renewed["scope"] == ["openid", "all"]
