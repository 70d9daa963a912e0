"""The refresh token grant: rotation, reuse detection, scope narrowing (RFC 6749 §6, RFC 9700 §4.14.2)."""

from __future__ import annotations

import pytest
from flows_support import obtain_tokens

from support.backchannel import INACTIVE, Backchannel, assert_oauth_error
from support.provision import World
from support.rows import rows


async def test_each_refresh_rotates_and_reusing_an_old_token_revokes_the_family(world: World, api: Backchannel) -> None:
    web, rs = world.client("web"), world.client("rs")
    first = await obtain_tokens(api, world.user("alice"), web)

    response = await api.refresh(web, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert set(second) >= {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == first["scope"]
    # The rotated refresh token, and the access token it superseded, are no longer active.
    assert await api.introspect(rs, first["refresh_token"]) == INACTIVE
    assert await api.introspect(rs, first["access_token"]) == INACTIVE
    assert (await api.introspect(rs, second["access_token"]))["active"] is True

    reused = await api.refresh(web, first["refresh_token"])
    assert_oauth_error(
        reused, 400, "invalid_grant", "The refresh token was already used; every token of this grant is now revoked"
    )
    assert await api.introspect(rs, second["access_token"]) == INACTIVE
    assert await api.introspect(rs, second["refresh_token"]) == INACTIVE
    assert_oauth_error(
        await api.refresh(web, second["refresh_token"]), 400, "invalid_grant", "The refresh token has been revoked"
    )


async def test_refresh_may_narrow_the_scope_and_later_return_to_the_original(
    sqlite_world: World, sqlite_api: Backchannel
) -> None:
    web, rs = sqlite_world.client("web"), sqlite_world.client("rs")
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("alice"), web, scope="openid profile email")

    narrowed = await sqlite_api.refresh(web, tokens["refresh_token"], scope="email")
    assert narrowed.status_code == 200
    assert narrowed.json()["scope"] == "email"
    assert (await sqlite_api.introspect(rs, narrowed.json()["access_token"]))["scope"] == "email"

    # RFC 6749 §6: an omitted scope means the scope originally granted.
    restored = await sqlite_api.refresh(web, narrowed.json()["refresh_token"])
    assert restored.json()["scope"] == "openid profile email"


async def test_refresh_cannot_widen_the_scope(sqlite_world: World, sqlite_api: Backchannel) -> None:
    web = sqlite_world.client("web")
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("alice"), web, scope="openid email")
    widened = await sqlite_api.refresh(web, tokens["refresh_token"], scope="openid email all")
    assert_oauth_error(
        widened, 400, "invalid_scope", "Scope 'all' was not granted originally; a refresh can only narrow the scope"
    )
    # The refused request did not use the refresh token up.
    assert (await sqlite_api.refresh(web, tokens["refresh_token"])).status_code == 200


@pytest.mark.parametrize(
    ("case", "error", "description"),
    [
        ("unknown", "invalid_grant", "The refresh token is invalid"),
        ("other-client", "invalid_grant", "The refresh token was issued to another client"),
        ("access-token", "invalid_grant", "The refresh token is invalid"),
        ("missing", "invalid_request", "Missing required parameter 'refresh_token'"),
    ],
)
async def test_refresh_errors(
    sqlite_world: World, sqlite_api: Backchannel, case: str, error: str, description: str
) -> None:
    web = sqlite_world.client("web")
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("bob"), web)
    if case == "missing":
        response = await sqlite_api.token(web, grant_type="refresh_token")
    else:
        presented = {"unknown": "not-a-refresh-token", "access-token": tokens["access_token"]}.get(
            case, tokens["refresh_token"]
        )
        client = sqlite_world.client("post") if case == "other-client" else web
        response = await sqlite_api.refresh(client, presented)
    assert_oauth_error(response, 400, error, description)
    if case == "other-client":
        # Another client's attempt does not harm the rightful owner's token.
        assert (await sqlite_api.refresh(web, tokens["refresh_token"])).status_code == 200


async def test_the_audit_events_of_issuance_and_refresh_say_where_the_request_came_from(
    world: World, api: Backchannel
) -> None:
    web = world.client("web")
    first = await obtain_tokens(api, world.user("alice"), web)
    refreshed = await api.refresh(web, first["refresh_token"])
    assert refreshed.status_code == 200
    found = rows(
        world.server,
        "SELECT event, ip FROM audit_events WHERE client_id = ? AND event IN (?, ?) ORDER BY id",
        web["client_id"],
        "token.issued",
        "token.refreshed",
    )
    # The test talks to the server over loopback: every token event of this client came from there.
    assert [event for event, _ in found][-2:] == ["token.issued", "token.refreshed"]
    assert {ip for _, ip in found} == {"127.0.0.1"}
