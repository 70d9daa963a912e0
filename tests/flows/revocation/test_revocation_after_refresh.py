"""Cleaning up after a refresh (as Frappe apps such as Raven do) revokes only the superseded tokens.

A token that rotation already superseded is revoked alone; a current token still takes its whole grant
with it; and a superseded refresh token presented again at the token endpoint is still the theft signal
that revokes the family (RFC 9700 §4.14.2), even after the app revoked it.
"""

from __future__ import annotations

import pytest
from flows_support import obtain_tokens

from support.backchannel import INACTIVE, Backchannel, assert_oauth_error
from support.provision import World

REUSED = "The refresh token was already used; every token of this grant is now revoked"
REVOKED = "The refresh token has been revoked"


async def _userinfo_status(api: Backchannel, access_token: str) -> int:
    response = await api.http.get(
        api.server.url + "/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"}
    )
    return response.status_code


@pytest.mark.parametrize("path", ["standard", "frappe"])
async def test_revoking_the_old_pair_after_a_refresh_keeps_the_new_pair(
    world: World, api: Backchannel, path: str
) -> None:
    web, rs = world.client("web"), world.client("rs")
    endpoints = api.frappe() if path == "frappe" else api
    old = await obtain_tokens(api, world.user("alice"), web)
    new = await endpoints.refreshed(web, old["refresh_token"])

    for token, hint in ((old["refresh_token"], "refresh_token"), (old["access_token"], "access_token")):
        response = await endpoints.revoke(web, token, token_type_hint=hint)
        assert (response.status_code, response.json()) == (200, {})

    assert await api.introspect(rs, old["access_token"]) == INACTIVE
    assert await api.introspect(rs, old["refresh_token"]) == INACTIVE
    assert (await api.introspect(rs, new["access_token"]))["active"] is True
    assert await _userinfo_status(api, new["access_token"]) == 200
    newest = await endpoints.refreshed(web, new["refresh_token"])
    assert await _userinfo_status(api, newest["access_token"]) == 200

    # The revoked old refresh token, replayed at the token endpoint, is still evidence of theft.
    assert_oauth_error(await endpoints.refresh(web, old["refresh_token"]), 400, "invalid_grant", REUSED)
    assert await api.introspect(rs, newest["access_token"]) == INACTIVE
    assert await _userinfo_status(api, newest["access_token"]) == 401
    assert_oauth_error(await endpoints.refresh(web, newest["refresh_token"]), 400, "invalid_grant", REVOKED)


async def test_revoking_an_access_token_of_an_earlier_rotation_without_a_hint_keeps_the_grant(
    sqlite_world: World, sqlite_api: Backchannel
) -> None:
    web, rs = sqlite_world.client("web"), sqlite_world.client("rs")
    first = await obtain_tokens(sqlite_api, sqlite_world.user("bob"), web)
    second = await sqlite_api.refreshed(web, first["refresh_token"])
    third = await sqlite_api.refreshed(web, second["refresh_token"])
    for token in (first["access_token"], second["access_token"], first["refresh_token"], second["refresh_token"]):
        assert (await sqlite_api.revoke(web, token)).status_code == 200
    assert (await sqlite_api.introspect(rs, third["access_token"]))["active"] is True
    assert (await sqlite_api.introspect(rs, third["refresh_token"]))["active"] is True


@pytest.mark.parametrize("revoked", ["access_token", "refresh_token"])
async def test_revoking_a_current_token_after_a_refresh_still_revokes_the_whole_grant(
    world: World, api: Backchannel, revoked: str
) -> None:
    web, rs = world.client("web"), world.client("rs")
    old = await obtain_tokens(api, world.user("bob"), web)
    new = await api.refreshed(web, old["refresh_token"])
    response = await api.frappe().revoke(web, new[revoked], token_type_hint=revoked)
    assert (response.status_code, response.json()) == (200, {})
    assert await api.introspect(rs, new["access_token"]) == INACTIVE
    assert await api.introspect(rs, new["refresh_token"]) == INACTIVE
    assert_oauth_error(await api.refresh(web, new["refresh_token"]), 400, "invalid_grant", REVOKED)
