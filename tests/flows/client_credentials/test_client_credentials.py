"""Client credentials (RFC 6749 §4.4): the token acts as the service user the admin assigned.

The seeds' shop backend "needs to auth on the ERP and read/write documents": it gets a token that
acts as its service user, with that user's roles, and no refresh token (§4.4.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

import pytest
from flows_support import AsyncOAuth2Client
from oauthlib.oauth2 import BackendApplicationClient  # type: ignore[import-untyped]
from requests_oauthlib import OAuth2Session

from support.backchannel import SSL_CONTEXT, TOKEN, Backchannel, assert_oauth_error
from support.provision import World


async def test_authlib_client_credentials_token_acts_as_the_service_user(world: World, api: Backchannel) -> None:
    shop, robot = world.client("shop"), world.user("robot")
    async with AsyncOAuth2Client(
        verify=SSL_CONTEXT,
        client_id=shop["client_id"],
        client_secret=shop["client_secret"],
        token_endpoint_auth_method="client_secret_basic",
        scope="all",
    ) as oauth:
        token = await oauth.fetch_token(world.server.url + TOKEN, grant_type="client_credentials")
    assert set(token) == {"access_token", "token_type", "expires_in", "scope", "expires_at"}  # expires_at: Authlib's
    assert (token["token_type"], token["expires_in"], token["scope"]) == ("Bearer", 3600, "all")

    seen = await api.introspect(world.client("rs"), token["access_token"])
    assert (seen["active"], seen["client_id"], seen["username"], seen["sub"], seen["scope"]) == (
        True,
        shop["client_id"],
        robot["email"],
        robot["sub"],
        "all",
    )


async def test_client_credentials_without_scope_gets_the_client_scopes_and_no_refresh_token(
    world: World, api: Backchannel
) -> None:
    response = await api.token(world.client("shop"), grant_type="client_credentials")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert "refresh_token" not in body
    assert body["scope"] == "all roles"


def _requests_oauthlib_client_credentials(token_url: str, client: dict[str, Any]) -> dict[str, Any]:
    session = OAuth2Session(client=BackendApplicationClient(client_id=client["client_id"]), scope=["all"])
    token: dict[str, Any] = session.fetch_token(
        token_url, client_id=client["client_id"], client_secret=client["client_secret"], scope="all"
    )
    return token


async def test_requests_oauthlib_backend_application_client(
    sqlite_world: World, sqlite_api: Backchannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    token = await asyncio.to_thread(
        _requests_oauthlib_client_credentials, sqlite_world.server.url + TOKEN, sqlite_world.client("shop")
    )
    assert token["token_type"] == "Bearer"
    assert "refresh_token" not in token
    seen = await sqlite_api.introspect(sqlite_world.client("rs"), token["access_token"])
    assert seen["username"] == sqlite_world.user("robot")["email"]


def _forget_service_user(world: World, client_id: str) -> None:
    """A client saved before every client_credentials client got a service user: neither the CLI nor the
    console makes one any more, so the row is changed directly, before the server has read it."""
    database = world.server.database.url.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("UPDATE oauth_clients SET service_user_id = NULL WHERE client_id = ?", (client_id,))


@pytest.mark.parametrize(
    ("client_name", "extra", "status", "error", "description"),
    [
        (
            "spa",
            {},
            400,
            "unauthorized_client",
            "This client is not allowed to use the client_credentials grant",
        ),
        (
            "no_service_user",
            {},
            400,
            "unauthorized_client",
            "This client has no service user; an administrator must assign one "
            "(gatepass client update CLIENT_ID --service-user EMAIL)",
        ),
        ("shop", {"scope": "all profile"}, 400, "invalid_scope", "Scope 'profile' is not registered for this client"),
        (
            "shop-wrong-secret",
            {},
            401,
            "invalid_client",
            "Client authentication failed: unknown client or wrong client_secret",
        ),
    ],
    ids=["public-client", "no-service-user", "unregistered-scope", "wrong-secret"],
)
async def test_client_credentials_refusals(
    sqlite_world: World,
    sqlite_api: Backchannel,
    client_name: str,
    extra: dict[str, str],
    status: int,
    error: str,
    description: str,
) -> None:
    if client_name == "shop-wrong-secret":
        client = {**sqlite_world.client("shop"), "client_secret": "wrong"}
    else:
        client = sqlite_world.client(client_name)
    if client_name == "no_service_user":
        _forget_service_user(sqlite_world, client["client_id"])
    response = await sqlite_api.token(client, grant_type="client_credentials", **extra)
    assert_oauth_error(
        response,
        status,
        error,
        description,
        challenge='Basic realm="gatepass", charset="UTF-8"' if status == 401 else None,
    )
