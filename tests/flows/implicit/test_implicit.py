"""Legacy implicit flow (RFC 6749 §4.2): only for clients allowed it; tokens in the fragment, no refresh."""

from __future__ import annotations

from urllib.parse import urlsplit

from support.backchannel import Backchannel, assert_oauth_error
from support.browser import HttpBrowser, assert_error_redirect, is_client_redirect, logged_in
from support.provision import World
from support.server import REDIRECT_URI


def _token_request(client: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        "client_id": client["client_id"],
        "response_type": "token",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email",
        "state": "implicit-state",
        **extra,
    }


async def test_implicit_client_gets_an_access_token_in_the_fragment_and_no_refresh_token(
    sqlite_world: World, sqlite_api: Backchannel
) -> None:
    client, user = sqlite_world.client("implicit"), sqlite_world.user("alice")
    browser = await logged_in(sqlite_world.server, user)
    outcome = await browser.authorize(_token_request(client))
    assert is_client_redirect(outcome.location)
    parts = urlsplit(outcome.location)
    assert parts.query == ""
    params = outcome.params
    assert set(params) == {"access_token", "token_type", "expires_in", "scope", "state", "iss"}
    assert (params["token_type"], params["expires_in"], params["scope"]) == ("Bearer", "3600", "openid email")
    assert (params["state"], params["iss"]) == ("implicit-state", sqlite_world.server.url)

    seen = await sqlite_api.introspect(sqlite_world.client("rs"), params["access_token"])
    assert (seen["active"], seen["username"], seen["client_id"]) == (True, user["email"], client["client_id"])


async def test_code_client_may_not_use_the_implicit_flow(sqlite_world: World) -> None:
    async with HttpBrowser(sqlite_world.server) as browser:
        outcome = await browser.authorize(_token_request(sqlite_world.client("spa")))
    assert_error_redirect(
        outcome,
        sqlite_world.server,
        "unauthorized_client",
        "This client is not allowed to use response_type=token; the implicit flow must be switched on for the client",
        state="implicit-state",
    )
    # Errors of a token request go in the fragment too (RFC 6749 §4.2.2.1).
    assert urlsplit(outcome.location).query == ""


async def test_implicit_only_client_may_not_ask_for_a_code(sqlite_world: World) -> None:
    async with HttpBrowser(sqlite_world.server) as browser:
        outcome = await browser.authorize(_token_request(sqlite_world.client("implicit"), response_type="code"))
    assert_error_redirect(
        outcome,
        sqlite_world.server,
        "unauthorized_client",
        "This client is not allowed to use response_type=code",
        state="implicit-state",
    )


async def test_tokens_never_go_in_the_query(sqlite_world: World) -> None:
    async with HttpBrowser(sqlite_world.server) as browser:
        outcome = await browser.authorize(_token_request(sqlite_world.client("implicit"), response_mode="query"))
    assert_error_redirect(
        outcome,
        sqlite_world.server,
        "invalid_request",
        "response_mode=query is not allowed when tokens are returned",
        state="implicit-state",
    )
    assert "access_token" not in outcome.location


async def test_implicit_is_not_a_token_endpoint_grant(sqlite_world: World, sqlite_api: Backchannel) -> None:
    response = await sqlite_api.token(sqlite_world.client("implicit"), grant_type="implicit")
    assert_oauth_error(
        response,
        400,
        "unsupported_grant_type",
        "grant_type 'implicit' is not supported; "
        "use authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code "
        "or urn:ietf:params:oauth:grant-type:token-exchange",
    )
