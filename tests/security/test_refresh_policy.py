"""A refresh is judged by the client's policy of now: allowed roles, allowed scopes, the user's state.

Scopes the client may no longer ask for are dropped from the new tokens; a user who could not
authorize the client any more (no allowed role, disabled), or a grant left with no scope, gets
``invalid_grant``, as a new authorization would refuse.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from support.backchannel import Backchannel, assert_oauth_error
from support.browser import HttpBrowser, code_request
from support.pkce import Pkce
from support.provision import provision
from support.server import LiveServer


async def _tokens(api: Backchannel, user: dict[str, Any], client: dict[str, Any], scope: str) -> Any:
    pkce = Pkce.new()
    async with HttpBrowser(api.server, user) as browser:
        code = (await browser.authorize(code_request(client, pkce, scope=scope))).code
    return await api.tokens(client, code, pkce)


def _parties(server: LiveServer, *client_args: str, roles: tuple[str, ...] = ()) -> tuple[Any, Any]:
    users, clients = provision(
        server,
        {"rita": {"first_name": "Rita", "last_name": "Refresh", "roles": roles}},
        lambda _: {"app": ("--name", "Policy App", *client_args)},
    )
    return users["rita"], clients["app"]


async def test_refresh_drops_the_scopes_the_client_may_no_longer_ask_for(server: LiveServer, api: Backchannel) -> None:
    user, app = _parties(server)
    tokens = await _tokens(api, user, app, "openid profile email")
    server.cli("client", "update", app["client_id"], "--scope", "openid", "--scope", "email", "--scope", "all")

    refreshed = await api.refresh(app, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["scope"] == "openid email"
    assert (await api.introspect(app, refreshed.json()["access_token"]))["scope"] == "openid email"
    # A requested scope is narrowed the same way.
    again = await api.refresh(app, refreshed.json()["refresh_token"], scope="profile email")
    assert again.status_code == 200, again.text
    assert again.json()["scope"] == "email"


async def test_refresh_with_no_scope_left_is_invalid_grant(server: LiveServer, api: Backchannel) -> None:
    user, app = _parties(server)
    tokens = await _tokens(api, user, app, "profile email")
    server.cli("client", "update", app["client_id"], "--scope", "openid", "--scope", "all")

    refused = await api.refresh(app, tokens["refresh_token"])
    assert_oauth_error(
        refused,
        400,
        "invalid_grant",
        "No scope of this grant is still allowed for this client; ask the user to authorize again",
    )


@pytest.mark.parametrize("change", ["user-loses-the-role", "client-now-asks-another-role"])
async def test_refresh_is_refused_once_the_user_has_none_of_the_allowed_roles(
    server: LiveServer, api: Backchannel, change: str
) -> None:
    role = f"Refresher {secrets.token_hex(3)}"
    server.cli("role", "add", role)
    user, app = _parties(server, "--allowed-role", role, roles=(role,))
    tokens = await _tokens(api, user, app, "openid email")
    refreshed = await api.refresh(app, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text

    if change == "user-loses-the-role":
        server.cli("user", "roles", user["email"], "--remove", role)
    else:
        server.cli("client", "update", app["client_id"], "--allowed-role", "System Manager")
    refused = await api.refresh(app, refreshed.json()["refresh_token"])
    assert_oauth_error(refused, 400, "invalid_grant", "This user has none of the roles this app is allowed for")


async def test_refresh_is_refused_for_a_disabled_user(server: LiveServer, api: Backchannel) -> None:
    user, app = _parties(server)
    tokens = await _tokens(api, user, app, "openid email")
    server.cli("user", "disable", user["email"])
    # Disabling the user revoked every grant; the refresh is refused either way.
    refused = await api.refresh(app, tokens["refresh_token"])
    assert_oauth_error(refused, 400, "invalid_grant", "The refresh token has been revoked")
