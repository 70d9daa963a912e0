"""Which parameters each grant of the token endpoint takes (RFC 6749 §3.2).

A parameter another grant reads is refused by name, before anything is spent; parameters no grant
reads are ignored, as §3.2 requires of unrecognized ones, and so are the ones real clients add.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.backchannel import Backchannel, assert_oauth_error
from support.browser import code_request, logged_in
from support.pkce import Pkce
from support.provision import World
from support.server import REDIRECT_URI


async def _tokens(world: World, api: Backchannel, client: dict[str, Any]) -> dict[str, Any]:
    pkce = Pkce.new()
    browser = await logged_in(world.server, world.user("alice"))
    code = (await browser.authorize(code_request(client, pkce))).code
    return await api.tokens(client, code, pkce)


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("code", "some-code"), ("code_verifier", "v" * 43)],
)
async def test_a_parameter_of_another_grant_is_refused_by_name_and_spends_nothing(
    sqlite_world: World, sqlite_api: Backchannel, parameter: str, value: str
) -> None:
    web = sqlite_world.client("web")
    refresh_token = (await _tokens(sqlite_world, sqlite_api, web))["refresh_token"]
    response = await sqlite_api.refresh(web, refresh_token, **{parameter: value})
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        f"Parameter '{parameter}' is not used by the refresh_token grant; leave it out",
    )
    # Refused before the grant ran: the refresh token was not rotated.
    assert (await sqlite_api.refresh(web, refresh_token)).status_code == 200


async def test_a_code_redemption_refuses_a_refresh_token_and_keeps_the_code(
    sqlite_world: World, sqlite_api: Backchannel
) -> None:
    web, pkce = sqlite_world.client("web"), Pkce.new()
    browser = await logged_in(sqlite_world.server, sqlite_world.user("alice"))
    code = (await browser.authorize(code_request(web, pkce))).code
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    response = await sqlite_api.token(web, **form, code_verifier=pkce.verifier, refresh_token="some-refresh-token")
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Parameter 'refresh_token' is not used by the authorization_code grant; leave it out",
    )
    assert (await sqlite_api.redeem(web, code, pkce)).status_code == 200


async def test_client_credentials_refuses_a_redirect_uri(sqlite_world: World, sqlite_api: Backchannel) -> None:
    response = await sqlite_api.token(
        sqlite_world.client("shop"), grant_type="client_credentials", redirect_uri=REDIRECT_URI
    )
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Parameter 'redirect_uri' is not used by the client_credentials grant; leave it out",
    )


async def test_unrecognized_parameters_are_ignored(sqlite_world: World, sqlite_api: Backchannel) -> None:
    web, pkce = sqlite_world.client("web"), Pkce.new()
    browser = await logged_in(sqlite_world.server, sqlite_world.user("alice"))
    code = (await browser.authorize(code_request(web, pkce, scope="openid profile"))).code
    # What clients add to a code exchange: the state, an audience, and the scope again (oauthlib).
    redeemed = await sqlite_api.token(
        web,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=pkce.verifier,
        state="xyz",
        audience="https://api.example.com",
        scope="openid profile",
    )
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["scope"] == "openid profile"
    # Frappe's documented refresh request carries the redirect_uri.
    refreshed = await sqlite_api.refresh(web, redeemed.json()["refresh_token"], redirect_uri=REDIRECT_URI, state="x")
    assert refreshed.status_code == 200, refreshed.text
    issued = await sqlite_api.token(sqlite_world.client("shop"), grant_type="client_credentials", audience="x")
    assert issued.status_code == 200, issued.text
