"""RFC 7662 §4: who may introspect whose tokens.

A client sees its own tokens. Another client's tokens only a client an admin marked as a resource
server sees, or a Frappe-legacy confidential client (Frappe lets any caller introspect). Anyone else
gets exactly ``{"active": false}``, the answer for an unknown token.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx

from support.backchannel import FRAPPE_INTROSPECT, INACTIVE, INTROSPECT, Backchannel
from support.browser import HttpBrowser, code_request
from support.html import page_text, parse_forms
from support.pkce import Pkce
from support.provision import provision
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT_URI, LiveServer


async def _tokens(server: LiveServer, http: httpx.AsyncClient, user: dict[str, Any], client: dict[str, Any]) -> Any:
    pkce = Pkce.new()
    async with HttpBrowser(server, user) as browser:
        code = (await browser.authorize(code_request(client, pkce))).code
    return await Backchannel(http, server).tokens(client, code, pkce)


def _parties(server: LiveServer) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    users, clients = provision(
        server,
        {"owner": {"first_name": "Olga", "last_name": "Owner"}},
        lambda _: {
            "web": ("--name", "Token Owner App"),
            "other": ("--name", "Some Other App"),
            "rs": ("--name", "Marked Resource Server", "--grant-type", "client_credentials", "--resource-server"),
            "legacy": ("--name", "Frappe Style App", "--frappe-legacy"),
            "spa": ("--name", "Some Public App", "--public"),
        },
    )
    return users["owner"], clients


async def _answer(api: Backchannel, caller: dict[str, Any], token: str, path: str = INTROSPECT) -> httpx.Response:
    response = await api.post(path, caller, {"token": token})
    assert response.status_code == 200, response.text
    return response


async def test_a_client_not_marked_learns_nothing_about_another_clients_tokens(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    user, clients = _parties(server)
    api = Backchannel(http, server)
    tokens = await _tokens(server, http, user, clients["web"])
    for token in (tokens["access_token"], tokens["refresh_token"]):
        for caller in ("other", "spa"):
            refused = await _answer(api, clients[caller], token)
            # Exactly the answer for a token that never existed: nothing tells the two apart.
            assert refused.text.replace(" ", "") == '{"active":false}'
            unknown = await _answer(api, clients[caller], "never-issued")
            assert (refused.json(), refused.headers["cache-control"]) == (
                unknown.json(),
                unknown.headers["cache-control"],
            )
        # The client the token was issued to still sees it.
        assert (await api.introspect(clients["web"], token))["active"] is True


async def test_a_resource_server_sees_every_clients_tokens_only_while_marked(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    user, clients = _parties(server)
    api, rs = Backchannel(http, server), clients["rs"]
    assert rs["is_resource_server"] is True
    tokens = await _tokens(server, http, user, clients["web"])
    seen = await api.introspect(rs, tokens["access_token"])
    assert (seen["active"], seen["client_id"], seen["username"]) == (True, clients["web"]["client_id"], user["email"])
    assert (await api.introspect(rs, tokens["refresh_token"]))["active"] is True

    server.cli("client", "update", rs["client_id"], "--no-resource-server")
    shown = json.loads(server.cli("client", "show", rs["client_id"], "--json").stdout)
    assert shown["is_resource_server"] is False
    assert await api.introspect(rs, tokens["access_token"]) == INACTIVE

    server.cli("client", "update", rs["client_id"], "--resource-server")
    assert json.loads(server.cli("client", "show", rs["client_id"], "--json").stdout)["is_resource_server"] is True
    assert (await api.introspect(rs, tokens["access_token"]))["active"] is True


async def test_a_frappe_legacy_client_introspects_any_token_as_frappe_allows(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    user, clients = _parties(server)
    api = Backchannel(http, server)
    tokens = await _tokens(server, http, user, clients["web"])
    for path in (INTROSPECT, FRAPPE_INTROSPECT):
        seen = (await _answer(api, clients["legacy"], tokens["access_token"], path)).json()
        assert (seen["active"], seen["client_id"]) == (True, clients["web"]["client_id"])


def test_a_public_client_cannot_be_marked_a_resource_server(sqlite_server: LiveServer) -> None:
    refused = sqlite_server.cli(
        "client",
        "add",
        "--name",
        "Public RS",
        "--public",
        "--redirect-uri",
        REDIRECT_URI,
        "--resource-server",
        check=False,
    )
    assert refused.returncode != 0
    assert "A public client cannot be a resource server" in refused.stderr
    public = sqlite_server.create_client("--public", name="Public App")
    assert public["is_resource_server"] is False
    refused = sqlite_server.cli("client", "update", public["client_id"], "--resource-server", check=False)
    assert "A public client cannot be a resource server" in refused.stderr


async def _admin_browser(server: LiveServer) -> HttpBrowser:
    browser = HttpBrowser(server, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    await browser.login()
    return browser


async def _post_form(browser: HttpBrowser, path: str, pairs: list[tuple[str, str]]) -> httpx.Response:
    """A form with repeated fields (check boxes), as a browser submits it."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return await browser.http.post(path, content=urlencode(pairs), headers=headers)


async def test_the_console_marks_and_unmarks_a_resource_server(sqlite_server: LiveServer) -> None:
    client = sqlite_server.create_client(name="Console RS")
    path = f"/admin/clients/{client['client_id']}"
    base = [
        ("app_name", "Console RS"),
        ("client_type", "confidential"),
        ("token_endpoint_auth_method", "client_secret_basic"),
        ("redirect_uris", REDIRECT_URI),
        ("grant_types", "authorization_code"),
        ("response_types", "code"),
        ("scopes", "openid"),
        ("require_pkce", "1"),
        ("id_token_signed_response_alg", "RS256"),
    ]
    async with await _admin_browser(sqlite_server) as admin:
        page = await admin.http.get(path)
        assert "Resource server (an API that may introspect tokens issued to other clients" in page_text(page.text)
        csrf = next(form.fields["csrf_token"] for form in parse_forms(page.text) if "csrf_token" in form.fields)
        saved = await _post_form(admin, path, [*base, ("is_resource_server", "1"), ("csrf_token", csrf)])
        assert saved.status_code == 303, page_text(saved.text)[:300]
        shown = json.loads(sqlite_server.cli("client", "show", client["client_id"], "--json").stdout)
        assert shown["is_resource_server"] is True
        assert 'name="is_resource_server" value="1" checked' in (await admin.http.get(path)).text

        saved = await _post_form(admin, path, [*base, ("csrf_token", csrf)])
        assert saved.status_code == 303
        shown = json.loads(sqlite_server.cli("client", "show", client["client_id"], "--json").stdout)
        assert shown["is_resource_server"] is False


async def test_a_registered_client_cannot_make_itself_a_resource_server(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite")
    server.cli("settings", "set", "registration_mode", "open")
    robot = server.create_user()
    service = server.create_client("--grant-type", "client_credentials", "--service-user", robot["email"], name="Svc")
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        service_auth = (service["client_id"], service["client_secret"])
        issued = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=service_auth)
        token = issued.json()["access_token"]
        metadata = {"client_name": "Self-made RS", "redirect_uris": ["https://app.example.com/cb"]}
        registered = await http.post("/oauth/register", json={**metadata, "is_resource_server": True})
        assert registered.status_code == 201, registered.text
        body = registered.json()
        auth = (body["client_id"], body["client_secret"])
        updated = await http.put(
            body["registration_client_uri"],
            json={**metadata, "client_id": body["client_id"], "is_resource_server": True},
            headers={"Authorization": f"Bearer {body['registration_access_token']}"},
        )
        assert updated.status_code == 200, updated.text
        answer = await http.post("/oauth/introspect", data={"token": token}, auth=auth)
    assert (answer.status_code, answer.json()) == (200, INACTIVE)
    shown = json.loads(server.cli("client", "show", body["client_id"], "--json").stdout)
    assert shown["is_resource_server"] is False
