"""Disabling or removing a client ends every token it holds, at once, on every worker.

Userinfo, the document API, introspection and refresh all stop accepting the client's tokens, and
turning the client back on brings none of them back. The token checks also refuse a token whose
client is disabled, so a token issued while the client was being disabled is never live.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest

from support.backchannel import INACTIVE, Backchannel, assert_oauth_error
from support.backends import BACKENDS
from support.browser import HttpBrowser, code_request
from support.html import page_text, parse_forms
from support.pkce import Pkce
from support.provision import provision
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

SCOPE = "openid profile email all"


def _parties(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    users, clients = provision(
        server,
        {"dana": {"first_name": "Dana", "last_name": "Doe"}},
        lambda _: {
            "app": ("--name", "Switched Off App"),
            "rs": ("--name", "Watching Resource Server", "--grant-type", "client_credentials", "--resource-server"),
        },
    )
    return users["dana"], clients["app"], clients["rs"]


async def _tokens(server: LiveServer, http: httpx.AsyncClient, user: dict[str, Any], client: dict[str, Any]) -> Any:
    pkce = Pkce.new()
    async with HttpBrowser(server, user) as browser:
        code = (await browser.authorize(code_request(client, pkce, scope=SCOPE))).code
    return await Backchannel(http, server).tokens(client, code, pkce)


async def _userinfo(server: LiveServer, http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get(f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})


async def _documents(server: LiveServer, http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get(f"{server.url}/api/resource/ToDo", headers={"Authorization": f"Bearer {token}"})


async def _assert_live(server: LiveServer, http: httpx.AsyncClient, rs: dict[str, Any], tokens: Any) -> None:
    assert (await _userinfo(server, http, tokens["access_token"])).status_code == 200
    assert (await _documents(server, http, tokens["access_token"])).status_code == 200
    api = Backchannel(http, server)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await api.introspect(rs, token))["active"] is True


async def _assert_refused(
    server: LiveServer, http: httpx.AsyncClient, rs: dict[str, Any], tokens: Any, description: str
) -> None:
    for ask in (_userinfo, _documents):
        answer = await ask(server, http, tokens["access_token"])
        assert answer.status_code == 401, answer.text
        assert (answer.json()["error"], answer.json()["error_description"]) == ("invalid_token", description)
    api = Backchannel(http, server)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert await api.introspect(rs, token) == INACTIVE


async def test_disabling_a_client_revokes_its_tokens_and_enabling_it_brings_none_back(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    user, app, rs = _parties(server)
    tokens = await _tokens(server, http, user, app)
    await _assert_live(server, http, rs, tokens)

    server.cli("client", "update", app["client_id"], "--disable")
    await _assert_refused(server, http, rs, tokens, "The access token has been revoked")

    server.cli("client", "update", app["client_id"], "--enable")
    await _assert_refused(server, http, rs, tokens, "The access token has been revoked")
    refreshed = await Backchannel(http, server).refresh(app, tokens["refresh_token"])
    assert_oauth_error(refreshed, 400, "invalid_grant", "The refresh token has been revoked")
    # The client itself works again: new grants are issued as before.
    await _assert_live(server, http, rs, await _tokens(server, http, user, app))


async def test_removing_a_client_ends_its_tokens(server: LiveServer, http: httpx.AsyncClient) -> None:
    user, app, rs = _parties(server)
    tokens = await _tokens(server, http, user, app)
    await _assert_live(server, http, rs, tokens)
    server.cli("client", "remove", app["client_id"])
    await _assert_refused(server, http, rs, tokens, "The access token is invalid")


async def test_every_worker_refuses_the_tokens_of_a_client_disabled_elsewhere(  # type: ignore[no-untyped-def]
    start_server, http: httpx.AsyncClient
) -> None:
    # SQLite keeps the read cache on: each worker holds the token and the client until it hears of the change.
    server: LiveServer = start_server("sqlite", GATEPASS_SERVER_WORKERS="2")
    user, app, rs = _parties(server)
    tokens = await _tokens(server, http, user, app)
    for _ in range(10):
        await _assert_live(server, http, rs, tokens)
    server.cli("client", "update", app["client_id"], "--disable")
    for _ in range(10):
        await _assert_refused(server, http, rs, tokens, "The access token has been revoked")


async def _disable_behind_gatepass(server: LiveServer, client_id: str) -> None:
    """Switch the client off in the database only: the moment after a disable, before any revocation."""
    database = server.database
    statement = "UPDATE oauth_clients SET is_enabled = {} WHERE client_id = {}"
    if database.backend == "sqlite":
        with sqlite3.connect(database.url.removeprefix("sqlite:///")) as connection:
            connection.execute(statement.format("?", "?"), (False, client_id))
    elif database.backend == "postgresql":
        import asyncpg

        connection = await asyncpg.connect(database.url)
        try:
            await connection.execute(statement.format("$1", "$2"), False, client_id)
        finally:
            await connection.close()
    else:
        import aiomysql

        mysql = await aiomysql.connect(host="127.0.0.1", port=3306, user="root", db=database.name, autocommit=True)
        try:
            async with mysql.cursor() as cursor:
                await cursor.execute(statement.format("%s", "%s"), (False, client_id))
        finally:
            mysql.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_token_of_a_disabled_client_is_refused_even_before_it_is_revoked(  # type: ignore[no-untyped-def]
    start_server, http: httpx.AsyncClient, backend: str
) -> None:
    # No read cache, so that the change made behind Gatepass's back is seen at once.
    server: LiveServer = start_server(backend, GATEPASS_DATABASE_READ_CACHE="off")
    user, app, rs = _parties(server)
    tokens = await _tokens(server, http, user, app)
    await _assert_live(server, http, rs, tokens)

    await _disable_behind_gatepass(server, app["client_id"])
    await _assert_refused(server, http, rs, tokens, "The access token was issued to a client that is disabled")

    # Enabling it again revokes what was left: nothing comes back to life.
    server.cli("client", "update", app["client_id"], "--enable")
    await _assert_refused(server, http, rs, tokens, "The access token has been revoked")


async def test_disabling_in_the_console_revokes_at_once_and_is_audited(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    user, app, rs = _parties(server)
    tokens = await _tokens(server, http, user, app)
    path = f"/admin/clients/{app['client_id']}"
    async with HttpBrowser(server, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}) as admin:
        await admin.login()
        page = await admin.http.get(path)
        assert "Disabling the client, enabling it again or deleting it revokes every token it holds." in page_text(
            page.text
        )
        csrf = next(form.fields["csrf_token"] for form in parse_forms(page.text) if "csrf_token" in form.fields)
        switched = await admin.http.post(f"{path}/enabled", data={"enabled": "0", "csrf_token": csrf})
        assert switched.headers["location"] == f"{path}?notice=client_disabled"
        await _assert_refused(server, http, rs, tokens, "The access token has been revoked")
        audit = page_text((await admin.http.get("/admin/audit", params={"client": app["client_id"]})).text)
    assert "client.disabled" in audit
    assert '{"grants_revoked": 1}' in audit
