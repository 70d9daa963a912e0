"""Token introspection (RFC 7662) with Frappe's fields; anything not active is exactly {"active": false}."""

from __future__ import annotations

import time

import httpx
import pytest
from flows_support import obtain_tokens

from support.backchannel import BASIC_CHALLENGE, INACTIVE, INTROSPECT, Backchannel, assert_oauth_error
from support.provision import World


async def test_active_openid_token_lists_every_field_and_frappes_user_fields(world: World, api: Backchannel) -> None:
    web, alice = world.client("web"), world.user("alice")
    tokens = await obtain_tokens(api, alice, web, scope="openid profile email roles")
    before = int(time.time())
    seen = await api.introspect(world.client("rs"), tokens["access_token"])
    assert 0 <= before - seen["iat"] <= 60
    assert seen["exp"] - seen["iat"] == 3600
    assert seen == {
        "active": True,
        "client_id": web["client_id"],
        "trusted_client": 0,
        "scope": "openid profile email roles",
        "exp": seen["exp"],
        "iat": seen["iat"],
        "sub": alice["sub"],
        "username": alice["email"],
        "token_type": "Bearer",
        "aud": web["client_id"],
        "iss": world.server.url,
        # Frappe's user fields for openid tokens.
        "name": "Alice Archer",
        "given_name": "Alice",
        "family_name": "Archer",
        "email": alice["email"],
        "email_verified": seen["email_verified"],
        "roles": alice["roles"],
    }
    assert isinstance(seen["email_verified"], bool)


async def test_token_without_openid_has_no_user_fields(sqlite_world: World, sqlite_api: Backchannel) -> None:
    web, bob = sqlite_world.client("web"), sqlite_world.user("bob")
    tokens = await obtain_tokens(sqlite_api, bob, web, scope="profile email all")
    seen = await sqlite_api.introspect(sqlite_world.client("rs"), tokens["access_token"])
    assert set(seen) == {
        "active",
        "client_id",
        "trusted_client",
        "scope",
        "exp",
        "iat",
        "sub",
        "username",
        "token_type",
        "aud",
        "iss",
    }
    assert (seen["sub"], seen["username"], seen["scope"]) == (bob["sub"], bob["email"], "profile email all")


async def test_refresh_token_introspects_as_refresh_token(sqlite_world: World, sqlite_api: Backchannel) -> None:
    web = sqlite_world.client("web")
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("bob"), web, scope="email")
    for hint in (None, "refresh_token", "access_token", "something_else"):
        extra = {"token_type_hint": hint} if hint else {}
        seen = await sqlite_api.introspect(sqlite_world.client("rs"), tokens["refresh_token"], **extra)
        assert (seen["active"], seen["token_type"], seen["client_id"]) == (True, "refresh_token", web["client_id"])


async def test_skip_authorization_client_is_a_trusted_client(sqlite_world: World, sqlite_api: Backchannel) -> None:
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("alice"), sqlite_world.client("trusted"))
    seen = await sqlite_api.introspect(sqlite_world.client("rs"), tokens["access_token"])
    assert seen["trusted_client"] == 1


@pytest.mark.parametrize("case", ["unknown", "revoked", "rotated-refresh", "superseded-access"])
async def test_anything_not_active_is_exactly_active_false(
    sqlite_world: World, sqlite_api: Backchannel, case: str
) -> None:
    web, rs = sqlite_world.client("web"), sqlite_world.client("rs")
    token = "never-issued"
    if case != "unknown":
        tokens = await obtain_tokens(sqlite_api, sqlite_world.user("bob"), web)
        if case == "revoked":
            await sqlite_api.revoke(web, tokens["access_token"])
            token = tokens["access_token"]
        else:
            assert (await sqlite_api.refresh(web, tokens["refresh_token"])).status_code == 200
            token = tokens["refresh_token" if case == "rotated-refresh" else "access_token"]
    response = await sqlite_api.post(sqlite_api.introspect_path, rs, {"token": token})
    assert (response.status_code, response.json()) == (200, INACTIVE)
    assert response.text.replace(" ", "") == '{"active":false}'


async def test_public_client_sees_only_its_own_tokens(sqlite_world: World, sqlite_api: Backchannel) -> None:
    spa, web = sqlite_world.client("spa"), sqlite_world.client("web")
    own = await obtain_tokens(sqlite_api, sqlite_world.user("alice"), spa)
    other = await obtain_tokens(sqlite_api, sqlite_world.user("alice"), web)
    assert (await sqlite_api.introspect(spa, own["access_token"]))["active"] is True
    assert await sqlite_api.introspect(spa, other["access_token"]) == INACTIVE


@pytest.mark.parametrize(
    ("auth", "description"),
    [
        (None, "Client authentication is required: send client_id (and client_secret) by HTTP Basic or in the body"),
        ("wrong-secret", "Client authentication failed: unknown client or wrong client_secret"),
    ],
    ids=["unauthenticated", "wrong-secret"],
)
async def test_introspection_requires_client_authentication(
    sqlite_world: World, sqlite_api: Backchannel, http: httpx.AsyncClient, auth: str | None, description: str
) -> None:
    rs = sqlite_world.client("rs")
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("alice"), sqlite_world.client("web"))
    url = sqlite_world.server.url + INTROSPECT
    form = {"token": tokens["access_token"]}
    if auth == "wrong-secret":
        response = await http.post(url, data=form, auth=(rs["client_id"], "wrong"))
    else:
        response = await http.post(url, data=form)
    assert_oauth_error(response, 401, "invalid_client", description, challenge=BASIC_CHALLENGE)


async def test_introspection_without_token_is_invalid_request(sqlite_world: World, sqlite_api: Backchannel) -> None:
    response = await sqlite_api.post(sqlite_api.introspect_path, sqlite_world.client("rs"), {})
    assert_oauth_error(response, 400, "invalid_request", "Missing required parameter 'token'")
