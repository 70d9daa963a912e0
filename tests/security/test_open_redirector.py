"""RFC 9700 §4.11.2: the authorization endpoint is no open redirector for self-registered clients.

With open registration (RFC 7591), anyone can register a client with any https redirect URI. If
every authorization error went back to that URI, a link to this server would bounce its visitor
to the attacker's site with no login and no consent. So a dynamically registered client's errors
are shown on a page until one user has completed an authorization for it; and, for every client,
only the errors a client can act on are redirected (protocol/rfc6749/authorization.py
REDIRECTABLE_ERRORS).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from gatepass.config import load_settings
from gatepass.db.base import Database
from gatepass.db.clients import SqlClientStore
from gatepass.db.engine import create_engine
from support.browser import HttpBrowser, code_request
from support.html import page_text
from support.pkce import Pkce
from support.server import LiveServer

ATTACKER_URI = "https://attacker.example/cb"
NOT_SENT_BACK = (
    "You were not sent back to attacker.example: this app registered itself and no one has completed "
    "a sign-in to it here yet, so Gatepass does not send you there on an error."
)


async def _register(server: LiveServer, redirect_uri: str = ATTACKER_URI) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.post(
            "/oauth/register",
            json={
                "client_name": "Totally Legit App",
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "none",
                "scope": "openid email",
            },
        )
    assert answer.status_code == 201, answer.text
    registered: dict[str, Any] = answer.json()
    return registered


def _assert_withheld(response: httpx.Response, error: str, description: str) -> None:
    """The error page, never a redirect towards the registered URI."""
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    text = page_text(response.text)
    assert "The app's sign-in request cannot be used" in text
    assert description in text
    assert NOT_SENT_BACK in text
    assert f"Error code: {error}" in text


# Each is a request an attacker can craft for a client of their own; each used to bounce to ATTACKER_URI.
UNPROVEN_CLIENT_ERRORS: dict[str, tuple[dict[str, str], str, str]] = {
    "unregistered scope": (
        {"scope": "admin"},
        "invalid_scope",
        "Scope 'admin' is not registered for this client; allowed: openid email",
    ),
    "unsupported response type": (
        {"response_type": "device"},
        "unsupported_response_type",
        "response_type 'device' is not supported; use code (or, for legacy implicit clients, token)",
    ),
    "malformed request": (
        {"code_challenge_method": "S512"},
        "invalid_request",
        "code_challenge_method 'S512' is not supported; use S256",
    ),
    "silent authentication": ({"prompt": "none"}, "login_required", "The user is not logged in"),
    "request object by reference": (
        {"request_uri": "https://app.example.com/r.jwt"},
        "request_uri_not_supported",
        "Only a request_uri from this server's pushed authorization request endpoint is accepted: send the "
        "request object by value (request), or push it",
    ),
}


@pytest.mark.parametrize(
    ("change", "error", "description"), list(UNPROVEN_CLIENT_ERRORS.values()), ids=list(UNPROVEN_CLIENT_ERRORS)
)
async def test_self_registered_client_never_used_gets_no_redirect_for_any_error(
    open_registration_server: LiveServer, change: dict[str, str], error: str, description: str
) -> None:
    client = await _register(open_registration_server)
    async with HttpBrowser(open_registration_server) as victim:
        outcome = await victim.authorize(
            {**code_request(client, Pkce.new(), scope="openid", redirect_uri=ATTACKER_URI), **change}
        )
    _assert_withheld(outcome.response, error, description)
    assert outcome.pages == []


async def test_a_real_browser_following_the_link_stays_on_the_error_page(
    open_registration_server: LiveServer, page: Any
) -> None:
    client = await _register(open_registration_server)
    reached: list[str] = []

    async def note_and_refuse(route: Any) -> None:
        reached.append(route.request.url)
        await route.abort()

    await page.route("https://attacker.example/**", note_and_refuse)
    request = code_request(client, Pkce.new(), scope="admin", redirect_uri=ATTACKER_URI)
    await page.goto(f"{open_registration_server.url}/oauth/authorize?{urlencode(request)}")
    assert reached == []
    assert page.url.startswith(f"{open_registration_server.url}/oauth/authorize?")
    assert await page.get_by_role("alert").inner_text() == (
        "Scope 'admin' is not registered for this client; allowed: openid email"
    )
    assert await page.get_by_role("link", name="attacker.example").count() == 0


async def test_denying_a_self_registered_client_never_used_shows_a_page(open_registration_server: LiveServer) -> None:
    client = await _register(open_registration_server)
    user = open_registration_server.create_user()
    async with HttpBrowser(open_registration_server, user) as browser:
        outcome = await browser.authorize(
            code_request(client, Pkce.new(), scope="openid", redirect_uri=ATTACKER_URI), decision="deny"
        )
    assert outcome.pages == ["login", "consent"]
    _assert_withheld(outcome.response, "access_denied", "The user denied the request")


async def test_errors_are_redirected_once_a_user_has_completed_an_authorization(
    open_registration_server: LiveServer,
) -> None:
    client = await _register(open_registration_server)
    user = open_registration_server.create_user()
    async with HttpBrowser(open_registration_server, user) as browser:
        consent = await browser.authorize(
            code_request(client, Pkce.new(), scope="openid", redirect_uri=ATTACKER_URI), decision=None
        )
        # The consent page warns about a client no one has allowed before.
        assert (
            "This app registered itself with this server, and no one has allowed it here before. "
            "Allow it only if you trust attacker.example." in page_text(consent.response.text)
        )
        allowed = await browser.authorize(code_request(client, Pkce.new(), scope="openid", redirect_uri=ATTACKER_URI))
    assert allowed.location.startswith(f"{ATTACKER_URI}?code=")
    shown = json.loads(open_registration_server.cli("client", "show", client["client_id"], "--json").stdout)
    assert shown["has_completed_authorization"] is True

    request = code_request(client, Pkce.new(), scope="admin", redirect_uri=ATTACKER_URI)
    async with HttpBrowser(open_registration_server) as anyone:
        outcome = await anyone.authorize(request)
    assert outcome.response.status_code == 303
    assert outcome.location.startswith(f"{ATTACKER_URI}?")
    assert outcome.params == {
        "error": "invalid_scope",
        "error_description": "Scope 'admin' is not registered for this client; allowed: openid email",
        "state": request["state"],
        "iss": open_registration_server.url,
    }


async def test_a_new_redirect_uri_added_by_the_client_itself_is_unproven_again(
    open_registration_server: LiveServer,
) -> None:
    client = await _register(open_registration_server, "https://app.example.com/cb")
    user = open_registration_server.create_user()
    async with HttpBrowser(open_registration_server, user) as browser:
        allowed = await browser.authorize(
            code_request(client, Pkce.new(), scope="openid", redirect_uri="https://app.example.com/cb")
        )
    assert allowed.location.startswith("https://app.example.com/cb?code=")
    # RFC 7592: the client changes its own registration, adding the attacker's URI.
    async with httpx.AsyncClient(base_url=open_registration_server.url) as http:
        changed = await http.put(
            f"/oauth/register/{client['client_id']}",
            headers={"Authorization": f"Bearer {client['registration_access_token']}"},
            json={
                "client_id": client["client_id"],
                "client_name": "Totally Legit App",
                "redirect_uris": ["https://app.example.com/cb", ATTACKER_URI],
                "token_endpoint_auth_method": "none",
                "scope": "openid email",
            },
        )
    assert changed.status_code == 200, changed.text
    async with HttpBrowser(open_registration_server) as victim:
        outcome = await victim.authorize(code_request(client, Pkce.new(), scope="admin", redirect_uri=ATTACKER_URI))
    _assert_withheld(
        outcome.response, "invalid_scope", "Scope 'admin' is not registered for this client; allowed: openid email"
    )


async def test_a_client_registered_by_an_admin_gets_its_errors_redirected_at_once(
    open_registration_server: LiveServer,
) -> None:
    client = open_registration_server.create_client("--public", "--redirect-uri", "https://app.example.com/cb")
    request = code_request(client, Pkce.new(), scope="admin", redirect_uri="https://app.example.com/cb")
    async with HttpBrowser(open_registration_server) as anyone:
        outcome = await anyone.authorize(request)
    assert outcome.response.status_code == 303
    assert outcome.params["error"] == "invalid_scope"


async def test_completed_authorization_is_written_once_and_only_while_unset(
    open_registration_server: LiveServer,
) -> None:
    client = await _register(open_registration_server)
    engine = create_engine(load_settings(open_registration_server.env))
    try:
        store = SqlClientStore(Database.of(engine))
        before = await store.get_client(client["client_id"])
        first = await store.mark_completed_authorization(client["client_id"])
        again = await store.mark_completed_authorization(client["client_id"])
        unknown = await store.mark_completed_authorization("no-such-client")
        after = await store.get_client(client["client_id"])
    finally:
        await engine.dispose()
    assert before is not None and after is not None
    assert (before.info.has_completed_authorization, after.info.has_completed_authorization) == (False, True)
    # The second call matches no row: nothing is written, so no cache anywhere is dropped for it.
    assert (first, again, unknown) == (True, False, False)
