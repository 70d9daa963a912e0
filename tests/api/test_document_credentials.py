"""The other ways in: Frappe API keys (token and Basic), the browser session with CSRF on writes,
and the seeds' Postman walk (authorization code with consent, then GET /api/resource/ToDo)."""

from __future__ import annotations

import base64

import httpx
from api_support import ScopedWorld, api_key_pair, authorize, bearer, challenge, code_from, logged_in, session_csrf

from support.html import input_values
from support.pkce import Pkce
from support.server import REDIRECT_URI

FRAPPE_TOKEN = "/api/method/frappe.integrations.oauth2.get_token"


def test_an_api_key_acts_as_its_user_with_token_and_basic_schemes(world: ScopedWorld) -> None:
    server = world.server
    key, secret = api_key_pair(server, world.owner.email)
    url = f"{server.url}/api/resource/{world.doctype}"
    created = httpx.post(url, headers={"Authorization": f"token {key}:{secret}"}, json={"title": "by key"})
    assert created.status_code == 200
    assert created.json()["data"]["owner"] == world.owner.email
    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
    read = httpx.get(f"{url}/{created.json()['data']['name']}", headers={"Authorization": f"Basic {basic}"})
    assert read.json()["data"]["title"] == "by key"


def test_a_wrong_or_replaced_api_secret_is_401_invalid_token(world: ScopedWorld) -> None:
    server = world.server
    key, secret = api_key_pair(server, world.other.email)
    url = f"{server.url}/api/resource/ToDo"
    wrong = httpx.get(url, headers={"Authorization": f"token {key}:not-the-secret"})
    description = "The API key or secret is invalid"
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid_token", "error_description": description}
    assert wrong.headers["www-authenticate"] == challenge(
        server, is_401=True, error="invalid_token", error_description=description
    )
    api_key_pair(server, world.other.email)
    assert httpx.get(url, headers={"Authorization": f"token {key}:{secret}"}).status_code == 401
    undecodable = httpx.get(url, headers={"Authorization": "Basic %%%"})
    assert undecodable.status_code == 401
    assert undecodable.json()["error_description"] == (
        "Failed to decode token, please provide a valid base64-encoded token."
    )


def test_the_session_cookie_reads_freely_and_writes_only_with_the_csrf_header(world: ScopedWorld) -> None:
    server = world.server
    with logged_in(server, world.owner.email, world.owner.password) as browser:
        url = f"/api/resource/{world.doctype}"
        assert browser.get(url).status_code == 200
        refused = browser.post(url, json={"title": "no csrf"})
        assert refused.status_code == 400
        assert refused.json()["exc_type"] == "CSRFTokenError"
        wrong = browser.post(url, json={"title": "wrong csrf"}, headers={"X-Frappe-CSRF-Token": "forged"})
        assert wrong.status_code == 400
        created = browser.post(url, json={"title": "with csrf"}, headers={"X-Frappe-CSRF-Token": session_csrf(browser)})
        assert created.status_code == 200
        assert created.json()["data"]["owner"] == world.owner.email


def test_a_bad_bearer_token_never_falls_back_to_the_session_cookie(world: ScopedWorld) -> None:
    with logged_in(world.server, world.owner.email, world.owner.password) as browser:
        response = browser.get("/api/resource/ToDo", headers=bearer("expired-or-wrong"))
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"


def test_the_postman_walk_gets_a_token_and_lists_todos(world: ScopedWorld) -> None:
    """Seeds: register a client, log in, allow on the consent screen, get_token, GET /api/resource/ToDo."""
    server = world.server
    read_scope = world.scopes["read"]
    client = server.create_client("--scope", "openid", "--scope", "all", "--scope", read_scope, name="Postman")
    with logged_in(server, world.owner.email, world.owner.password) as browser:
        pkce = Pkce.new()
        consent = authorize(browser, client["client_id"], f"openid all {read_scope}", pkce)
        assert consent.status_code == 200
        assert "Read your memos" in consent.text  # the document scope's own title on the consent screen
        assert "Act as you in the document API" in consent.text
        fields = {**input_values(consent.text), "decision": "allow"}
        decided = browser.post("/oauth/consent", data=fields)
        assert decided.status_code == 303
        code = code_from(decided)
    token = httpx.post(
        f"{server.url}{FRAPPE_TOKEN}",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": pkce.verifier,
        },
        auth=(client["client_id"], client["client_secret"]),
    )
    assert token.status_code == 200, token.text
    access_token = token.json()["access_token"]
    todos = httpx.get(f"{server.url}/api/resource/ToDo", headers=bearer(access_token))
    assert todos.status_code == 200
    assert isinstance(todos.json()["data"], list)
    created = httpx.post(f"{server.url}/api/resource/ToDo", headers=bearer(access_token), json={"description": "walk"})
    assert created.json()["data"]["owner"] == world.owner.email
