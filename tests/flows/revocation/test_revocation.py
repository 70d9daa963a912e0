"""Token revocation (RFC 7009): 200 for any token once the client is authenticated; a grant goes as one."""

from __future__ import annotations

import httpx
import pytest
from flows_support import obtain_tokens

from support.backchannel import BASIC_CHALLENGE, INACTIVE, REVOKE, Backchannel, assert_oauth_error
from support.provision import World


@pytest.mark.parametrize("revoked", ["access_token", "refresh_token"])
async def test_revoking_either_token_revokes_both(world: World, api: Backchannel, revoked: str) -> None:
    web, rs = world.client("web"), world.client("rs")
    tokens = await obtain_tokens(api, world.user("alice"), web)
    response = await api.revoke(web, tokens[revoked], token_type_hint=revoked)
    assert (response.status_code, response.json()) == (200, {})
    assert response.headers["cache-control"] == "no-store"
    assert await api.introspect(rs, tokens["access_token"]) == INACTIVE
    assert await api.introspect(rs, tokens["refresh_token"]) == INACTIVE
    assert_oauth_error(
        await api.refresh(web, tokens["refresh_token"]), 400, "invalid_grant", "The refresh token has been revoked"
    )


async def test_wrong_hint_still_finds_the_token(sqlite_world: World, sqlite_api: Backchannel) -> None:
    web, rs = sqlite_world.client("web"), sqlite_world.client("rs")
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("bob"), web)
    response = await sqlite_api.revoke(web, tokens["refresh_token"], token_type_hint="access_token")
    assert response.status_code == 200
    assert await sqlite_api.introspect(rs, tokens["access_token"]) == INACTIVE


async def test_public_client_revokes_its_own_token_with_client_id_only(
    sqlite_world: World, sqlite_api: Backchannel
) -> None:
    spa = sqlite_world.client("spa")
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("bob"), spa)
    assert (await sqlite_api.revoke(spa, tokens["access_token"])).status_code == 200
    assert await sqlite_api.introspect(sqlite_world.client("rs"), tokens["refresh_token"]) == INACTIVE


@pytest.mark.parametrize("token", ["never-issued", ""], ids=["unknown", "already-revoked"])
async def test_unknown_or_already_revoked_token_is_200(
    sqlite_world: World, sqlite_api: Backchannel, token: str
) -> None:
    web = sqlite_world.client("web")
    if not token:
        token = (await obtain_tokens(sqlite_api, sqlite_world.user("bob"), web))["access_token"]
        assert (await sqlite_api.revoke(web, token)).status_code == 200
    response = await sqlite_api.revoke(web, token)
    assert (response.status_code, response.json()) == (200, {})
    assert response.headers["cache-control"] == "no-store"


async def test_another_clients_token_is_not_revoked(sqlite_world: World, sqlite_api: Backchannel) -> None:
    web, post, rs = sqlite_world.client("web"), sqlite_world.client("post"), sqlite_world.client("rs")
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("alice"), web)
    for value in (tokens["access_token"], tokens["refresh_token"]):
        response = await sqlite_api.revoke(post, value)
        # RFC 7009 §2.2: the same answer as success, so the endpoint tells nothing about others' tokens.
        assert (response.status_code, response.json()) == (200, {})
    assert (await sqlite_api.introspect(rs, tokens["access_token"]))["active"] is True
    assert (await sqlite_api.introspect(rs, tokens["refresh_token"]))["active"] is True


@pytest.mark.parametrize(
    ("auth", "description"),
    [
        (None, "Client authentication is required: send client_id (and client_secret) by HTTP Basic or in the body"),
        ("wrong-secret", "Client authentication failed: unknown client or wrong client_secret"),
        ("client-id-only", "This client must authenticate with client_secret_basic: the client_secret is missing"),
    ],
    ids=["unauthenticated", "wrong-secret", "client-id-only"],
)
async def test_revocation_requires_client_authentication(
    sqlite_world: World, sqlite_api: Backchannel, http: httpx.AsyncClient, auth: str | None, description: str
) -> None:
    web = sqlite_world.client("web")
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("alice"), web)
    url = sqlite_world.server.url + REVOKE
    form = {"token": tokens["access_token"]}
    if auth == "wrong-secret":
        response = await http.post(url, data=form, auth=(web["client_id"], "wrong"))
    elif auth == "client-id-only":
        response = await http.post(url, data={**form, "client_id": web["client_id"]})
    else:
        response = await http.post(url, data=form)
    assert_oauth_error(response, 401, "invalid_client", description, challenge=BASIC_CHALLENGE)
    assert (await sqlite_api.introspect(sqlite_world.client("rs"), tokens["access_token"]))["active"] is True


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        ({}, "invalid_request", "Missing required parameter 'token'"),
        (
            {"token": "x", "token_type_hint": "id_token"},
            "unsupported_token_type",
            "token_type_hint 'id_token' is not supported; use access_token or refresh_token",
        ),
    ],
    ids=["missing-token", "unsupported-hint"],
)
async def test_malformed_revocation_requests(
    sqlite_world: World, sqlite_api: Backchannel, form: dict[str, str], error: str, description: str
) -> None:
    response = await sqlite_api.post(sqlite_api.revoke_path, sqlite_world.client("web"), form)
    assert_oauth_error(response, 400, error, description)
