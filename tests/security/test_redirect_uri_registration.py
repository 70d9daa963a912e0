"""A redirect URI goes where it reads (RFC 3986 §7.6, RFC 9700 §4.1), at every door a client comes in by.

``https://app.example.com:443@evil.com/cb`` goes to evil.com; a right-to-left override makes a
path read backwards; a NUL cuts a URI short for some readers; port 99999 exists nowhere. The
CLI, the admin console and RFC 7591 registration all refuse them through one rule
(protocol/rfc6749/redirect_uri.py ``check_redirect_uri_for_registration``); a URI stored before
that rule is refused before any redirect; and the consent page names the host the browser will
really go to, as Chromium itself parses the URI.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from support.browser import HttpBrowser, code_request
from support.console import ConsoleSession, client_form, log_in_page
from support.html import page_text
from support.pkce import Pkce
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

USERINFO = "https://app.example.com:443@evil.com/cb"
USERINFO_REFUSED = (
    "'https://app.example.com:443@evil.com/cb' has user information ('app.example.com:443') before '@'; "
    "a browser would go to 'evil.com'"
)
RTL = "https://app.example.com/\u202emoc.elgoog"
RTL_REFUSED = (
    "'https://app.example.com/'moc.elgoog' contains U+202E RIGHT-TO-LEFT OVERRIDE at character 25, "
    "an invisible character that changes how the URI reads"
)
PORT = "https://app.example.com:99999/cb"
PORT_REFUSED = "'https://app.example.com:99999/cb' has the port '99999'; a port is a number from 1 to 65535"
NUL = "https://app.example.com/cb\x00.evil.com"
NUL_REFUSED = (
    "'https://app.example.com/cb'.evil.com' contains the control character U+0000 at character 27; "
    "no redirect URI holds one"
)

#: What a command line can carry: an argument cannot hold a NUL at all (the OS ends it there).
COMMAND_LINE_CASES = {
    "userinfo": (USERINFO, USERINFO_REFUSED),
    "right-to-left override": (RTL, RTL_REFUSED),
    "port 99999": (PORT, PORT_REFUSED),
    "left-to-right isolate": (
        "https://app.example.com/\u2066cb",
        "'https://app.example.com/'cb' contains U+2066 LEFT-TO-RIGHT ISOLATE at character 25, "
        "an invisible character that changes how the URI reads",
    ),
}


@pytest.mark.parametrize(("uri", "message"), list(COMMAND_LINE_CASES.values()), ids=list(COMMAND_LINE_CASES))
def test_cli_refuses_a_redirect_uri_that_goes_elsewhere(sqlite_server: LiveServer, uri: str, message: str) -> None:
    result = sqlite_server.cli("client", "add", "--name", "Sneaky", "--redirect-uri", uri, "--json", check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stdout == ""


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.mark.parametrize(
    ("uri", "message"),
    [(USERINFO, USERINFO_REFUSED), (PORT, PORT_REFUSED)],
    ids=["userinfo", "port 99999"],
)
async def test_admin_console_refuses_a_redirect_uri_that_goes_elsewhere(
    admin: ConsoleSession, uri: str, message: str
) -> None:
    response = await admin.post("/admin/clients/new", client_form("Sneaky console app", redirect_uris=uri))
    assert response.status_code == 400
    assert message in page_text(response.text)
    assert 'class="invalid"' in response.text


@pytest.mark.parametrize(("uri", "message"), [(RTL, RTL_REFUSED), (NUL, None)], ids=["right-to-left override", "NUL"])
async def test_admin_console_refuses_invisible_or_control_characters(
    sqlite_server: LiveServer, admin: ConsoleSession, uri: str, message: str | None
) -> None:
    # Refused, never silently cleaned into another address than the one typed. A NUL is refused at
    # the edge, before any form is read; an invisible character by the redirect URI rule.
    app_name = f"Invisible chars app {secrets.token_hex(3)}"
    response = await admin.post("/admin/clients/new", client_form(app_name, redirect_uris=uri))
    assert response.status_code == 400
    if message is not None:
        assert message in page_text(response.text)
    stored = [c for c in json.loads(sqlite_server.cli("client", "list", "--json").stdout) if c["app_name"] == app_name]
    assert stored == []


@pytest.mark.parametrize(
    ("uri", "message"),
    [(USERINFO, USERINFO_REFUSED), (RTL, RTL_REFUSED), (PORT, PORT_REFUSED)],
    ids=["userinfo", "right-to-left override", "port 99999"],
)
async def test_dynamic_registration_refuses_with_invalid_redirect_uri(
    sqlite_open_registration_server: LiveServer, uri: str, message: str
) -> None:
    async with httpx.AsyncClient(base_url=sqlite_open_registration_server.url) as http:
        answer = await http.post("/oauth/register", json={"client_name": "Sneaky", "redirect_uris": [uri]})
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_redirect_uri", "error_description": message}
    assert answer.headers["cache-control"] == "no-store"


async def test_dynamic_registration_refuses_a_nul_before_any_rule_reads_it(
    sqlite_open_registration_server: LiveServer,
) -> None:
    # JSON bodies lose NULs at the I-JSON edge (protocol/rfc7493_ijson.py), before the redirect URI rule.
    async with httpx.AsyncClient(base_url=sqlite_open_registration_server.url) as http:
        answer = await http.post("/oauth/register", json={"client_name": "Sneaky", "redirect_uris": [NUL]})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_client_metadata",
        "error_description": "redirect_uris[0] contains a NUL character, which no value may hold",
    }


def _store_redirect_uri_behind_the_rules_back(server: LiveServer, client_id: str, uri: str) -> None:
    """As a client registered before these rules (or imported from Frappe) may hold."""
    database = server.database.url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE oauth_clients SET redirect_uris = ?, default_redirect_uri = NULL WHERE client_id = ?",
            (json.dumps([uri]), client_id),
        )


async def test_a_stored_uri_with_userinfo_is_never_followed(sqlite_server: LiveServer) -> None:
    client = sqlite_server.create_client("--public", name="Old Import")
    _store_redirect_uri_behind_the_rules_back(sqlite_server, client["client_id"], USERINFO)
    user = sqlite_server.create_user()
    async with HttpBrowser(sqlite_server, user) as browser:
        outcome = await browser.authorize(code_request(client, Pkce.new(), scope="openid", redirect_uri=USERINFO))
        wrong_scope = await browser.authorize(code_request(client, Pkce.new(), scope="nope", redirect_uri=USERINFO))
    for response in (outcome.response, wrong_scope.response):
        assert response.status_code == 400
        assert "location" not in response.headers
        text = page_text(response.text)
        assert "The redirect URI registered for this app is not safe to use; the administrator must change it" in text
        assert "Error code: invalid_redirect_uri" in text
    assert outcome.pages == []  # refused before the login, as an unknown client would be


#: Registrable URIs whose host reads differently from the way the address bar will show it.
CONSENT_HOSTS = {
    "default port and capitals": "https://APP.Example.COM:443/cb",
    "another port": "https://app.example.com:8443/cb",
    "internationalised name": "https://b\u00fccher.example/cb",
    "Cyrillic look-alike": "https://\u0430pp.example.com/cb",
    "IPv6 loopback": "http://[::1]:51004/cb",
}


@pytest.mark.parametrize("uri", list(CONSENT_HOSTS.values()), ids=list(CONSENT_HOSTS))
async def test_consent_page_names_the_host_as_the_browser_will_reach_it(
    sqlite_server: LiveServer, page: Any, uri: str
) -> None:
    client = sqlite_server.create_client("--redirect-uri", uri, name="Host Display App")
    user = sqlite_server.create_user()
    request = code_request(client, Pkce.new(), scope="openid", redirect_uri=uri)
    await page.goto(f"{sqlite_server.url}/oauth/authorize?{urlencode(request)}")
    await log_in_page(page, user["email"], user["password"])
    shown = (await page.locator(".redirect-host").inner_text()).strip()
    # Chromium's own URL parser is the judge of where the browser goes.
    assert shown == await page.evaluate("uri => new URL(uri).host", uri)
    assert await page.get_by_role("button", name="Allow").is_visible()
