"""Frappe's paths (/api/method/frappe.integrations.oauth2.*) behave exactly as the standard ones."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from flows_support import obtain_tokens

from support.backchannel import (
    FRAPPE_INTROSPECT,
    FRAPPE_REVOKE,
    FRAPPE_TOKEN,
    INACTIVE,
    INTROSPECT,
    REVOKE,
    TOKEN,
    Backchannel,
)
from support.browser import AUTHORIZE, FRAPPE_AUTHORIZE, HttpBrowser, assert_error_redirect, code_request, logged_in
from support.pkce import Pkce
from support.provision import World
from support.server import REDIRECT_URI


async def test_whole_flow_on_frappe_paths(world: World, api: Backchannel) -> None:
    frappe = api.frappe()
    web, rs, user = world.client("web"), world.client("rs"), world.user("alice")
    pkce = Pkce.new()
    request = code_request(web, pkce)
    browser = await logged_in(world.server, user)
    outcome = await browser.authorize(request, path=FRAPPE_AUTHORIZE)
    assert (outcome.params["state"], outcome.params["iss"]) == (request["state"], world.server.url)
    tokens = await frappe.tokens(web, outcome.code, pkce)
    seen = await frappe.introspect(rs, tokens["access_token"])
    assert (seen["active"], seen["username"]) == (True, user["email"])
    renewed = await frappe.refresh(web, tokens["refresh_token"])
    assert renewed.status_code == 200
    revoked = await frappe.revoke(web, renewed.json()["refresh_token"])
    assert (revoked.status_code, revoked.json()) == (200, {})
    assert await frappe.introspect(rs, renewed.json()["access_token"]) == INACTIVE


async def test_frappe_style_client_sends_id_and_secret_in_the_body(
    sqlite_world: World, sqlite_api: Backchannel, http: httpx.AsyncClient
) -> None:
    legacy, pkce = sqlite_world.client("legacy"), Pkce.new()
    browser = await logged_in(sqlite_world.server, sqlite_world.user("bob"))
    outcome = await browser.authorize(code_request(legacy, pkce), path=FRAPPE_AUTHORIZE)
    response = await http.post(
        sqlite_world.server.url + FRAPPE_TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": outcome.code,
            "redirect_uri": REDIRECT_URI,
            "client_id": legacy["client_id"],
            "client_secret": legacy["client_secret"],
            "code_verifier": pkce.verifier,
        },
    )
    assert response.status_code == 200
    # The body is top-level JSON, as Frappe answers, not wrapped in {"message": ...}.
    assert {"access_token", "token_type", "expires_in", "refresh_token", "scope"} <= set(response.json())


def _comparable(response: httpx.Response) -> tuple[int, Any, str | None, str | None]:
    return (
        response.status_code,
        response.json(),
        response.headers.get("www-authenticate"),
        response.headers.get("cache-control"),
    )


@pytest.mark.parametrize(
    ("standard", "frappe", "form", "auth"),
    [
        (TOKEN, FRAPPE_TOKEN, {"grant_type": "authorization_code", "code": "x"}, "wrong-secret"),
        (TOKEN, FRAPPE_TOKEN, {"grant_type": "password", "username": "a", "password": "b"}, "client"),
        (TOKEN, FRAPPE_TOKEN, {"grant_type": "authorization_code", "code": "x"}, "client"),
        (TOKEN, FRAPPE_TOKEN, {"grant_type": "refresh_token", "refresh_token": "x", "scope": "all"}, "client"),
        (REVOKE, FRAPPE_REVOKE, {"token": "x"}, None),
        (REVOKE, FRAPPE_REVOKE, {"token": "x"}, "client"),
        (INTROSPECT, FRAPPE_INTROSPECT, {"token": "x"}, None),
        (INTROSPECT, FRAPPE_INTROSPECT, {"token": "x"}, "client"),
    ],
    ids=[
        "token-wrong-secret",
        "token-unsupported-grant",
        "token-unknown-code",
        "token-unknown-refresh",
        "revoke-unauthenticated",
        "revoke-unknown-token",
        "introspect-unauthenticated",
        "introspect-unknown-token",
    ],
)
async def test_back_channel_answers_are_identical_on_both_paths(
    sqlite_world: World,
    http: httpx.AsyncClient,
    standard: str,
    frappe: str,
    form: dict[str, str],
    auth: str | None,
) -> None:
    web = sqlite_world.client("web")
    basic = None if auth is None else (web["client_id"], web["client_secret"] if auth == "client" else "wrong")
    answers = []
    for path in (standard, frappe):
        if basic is None:
            response = await http.post(sqlite_world.server.url + path, data=form)
        else:
            response = await http.post(sqlite_world.server.url + path, data=form, auth=basic)
        answers.append(_comparable(response))
    assert answers[0] == answers[1]
    assert answers[0][0] in (200, 400, 401)


@pytest.mark.parametrize("path", [AUTHORIZE, FRAPPE_AUTHORIZE])
async def test_authorization_errors_are_identical_on_both_paths(sqlite_world: World, path: str) -> None:
    request = code_request(sqlite_world.client("spa"), Pkce.new(), scope="openid nope")
    async with HttpBrowser(sqlite_world.server) as browser:
        outcome = await browser.authorize(request, path=path)
        page = await browser.authorize({"client_id": "nope", "response_type": "code"}, path=path)
    assert_error_redirect(
        outcome,
        sqlite_world.server,
        "invalid_scope",
        "Scope 'nope' is not registered for this client; allowed: openid profile email roles all",
        state=request["state"],
    )
    assert page.response.status_code == 400
    assert "location" not in page.response.headers


@pytest.mark.parametrize("path", [FRAPPE_TOKEN, FRAPPE_REVOKE, FRAPPE_INTROSPECT])
async def test_frappe_back_channel_paths_answer_get_with_405(
    sqlite_world: World, http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(sqlite_world.server.url + path)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_frappe_legacy_client_introspects_other_clients_tokens_as_frappe_allows(
    sqlite_world: World, sqlite_api: Backchannel
) -> None:
    web, legacy, post = sqlite_world.client("web"), sqlite_world.client("legacy"), sqlite_world.client("post")
    tokens = await obtain_tokens(sqlite_api, sqlite_world.user("bob"), web)
    frappe = sqlite_api.frappe()
    seen = await frappe.introspect(legacy, tokens["access_token"])
    assert (seen["active"], seen["client_id"]) == (True, web["client_id"])
    # A client that is neither Frappe-legacy nor a resource server learns nothing, on Frappe's path too.
    assert await frappe.introspect(post, tokens["access_token"]) == INACTIVE
