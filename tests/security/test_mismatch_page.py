"""The redirect-URI mismatch page tells the registered URIs only to an admin.

A client's registered redirect URIs are its configuration (staging hosts, internal paths). Anyone
can send an authorization request with a wrong redirect_uri, so the page that explains the
mismatch shows everyone else only the host of the closest registered URI and where the sent one
departs from it; a logged-in System Manager sees every registered URI, to fix the client.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.browser import HttpBrowser, assert_error_page, code_request
from support.pkce import Pkce
from support.server import LiveServer

PUBLIC = "https://app.example.com/oauth/callback"
STAGING = "https://staging-7f3a.internal.example.com/oauth/callback"
SENT = "https://app.example.com/oauth/callbak"


@pytest.fixture(scope="module")
def client(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_client("--redirect-uri", PUBLIC, "--redirect-uri", STAGING, name="Mismatch App")


async def test_anonymous_visitor_sees_the_closest_host_and_position_but_no_registered_uri(
    sqlite_server: LiveServer, client: dict[str, Any]
) -> None:
    async with HttpBrowser(sqlite_server) as anonymous:
        outcome = await anonymous.authorize(code_request(client, Pkce.new(), redirect_uri=SENT))
    text = assert_error_page(
        outcome.response,
        "This app sent a redirect URI that is not registered",
        f"Sent {SENT}",
        "Closest registered a URI on app.example.com",
        f"First difference at character {len('https://app.example.com/oauth/callba') + 1}: {SENT}",
        "Fix it in the app, or ask an administrator of this server",
        "Error code: invalid_redirect_uri",
    )
    assert "<mark>k</mark>" in outcome.response.text
    assert PUBLIC not in text
    assert "staging-7f3a" not in outcome.response.text
    assert "Registered for this client" not in text


async def test_logged_in_user_without_admin_role_sees_no_more(
    sqlite_server: LiveServer, client: dict[str, Any]
) -> None:
    async with HttpBrowser(sqlite_server, sqlite_server.create_user()) as browser:
        await browser.login()
        outcome = await browser.authorize(code_request(client, Pkce.new(), redirect_uri=SENT))
    assert_error_page(outcome.response, "Closest registered a URI on app.example.com")
    assert "staging-7f3a" not in outcome.response.text


async def test_admin_sees_every_registered_uri_and_both_sides_of_the_difference(
    sqlite_server: LiveServer, client: dict[str, Any]
) -> None:
    admin = sqlite_server.create_user(roles=("System Manager",))
    async with HttpBrowser(sqlite_server, admin) as browser:
        await browser.login()
        outcome = await browser.authorize(code_request(client, Pkce.new(), redirect_uri=SENT))
    assert_error_page(
        outcome.response,
        f"Sent {SENT}",
        f"Closest registered {PUBLIC}",
        f"Registered for this client {PUBLIC} {STAGING}",
        "gatepass client update CLIENT_ID --redirect-uri",
    )
    assert "<mark>k</mark>" in outcome.response.text
    assert "<mark>ck</mark>" in outcome.response.text
