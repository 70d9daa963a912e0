"""Registering a back-channel logout URI (Back-Channel Logout 1.0 §2.2): with the CLI and by dynamic
registration (RFC 7591), answered back as registered; a URI logout tokens must not go to is refused."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from support.server import REDIRECT_URI, LiveServer

LOGOUT_URI = "https://app.example.com/backchannel-logout"


def _shown(server: LiveServer, client_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(server.cli("client", "show", client_id, "--json").stdout)
    return shown


def test_the_cli_sets_shows_and_clears_the_logout_uri(sqlite_server: LiveServer) -> None:
    client = sqlite_server.create_client(
        "--backchannel-logout-uri", LOGOUT_URI, "--backchannel-logout-session-required", name="CLI Logout App"
    )
    assert (client["backchannel_logout_uri"], client["backchannel_logout_session_required"]) == (LOGOUT_URI, True)
    sqlite_server.cli("client", "update", client["client_id"], "--no-backchannel-logout-session-required")
    assert _shown(sqlite_server, client["client_id"])["backchannel_logout_session_required"] is False
    sqlite_server.cli("client", "update", client["client_id"], "--backchannel-logout-uri", "")
    shown = _shown(sqlite_server, client["client_id"])
    assert "backchannel_logout_uri" not in shown
    assert "backchannel_logout_session_required" not in shown


def test_the_cli_refuses_a_logout_uri_over_plain_http_elsewhere(sqlite_server: LiveServer) -> None:
    refused = sqlite_server.cli(
        "client", "add", "--name", "Plain http", "--redirect-uri", REDIRECT_URI,
        "--backchannel-logout-uri", "http://app.example.com/logout", check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "backchannel_logout_uri must be an absolute https URL (http only for localhost)" in refused.stderr


@pytest.mark.parametrize(
    ("value", "description"),
    [
        ("http://app.example.com/logout", "backchannel_logout_uri must be an absolute https URL (http only for localhost)"),
        ("https://app.example.com/logout#done", "backchannel_logout_uri must not have a fragment (Back-Channel Logout 2.2)"),
        (["https://app.example.com/logout"], "backchannel_logout_uri must be a URL"),
    ],
    ids=["http-elsewhere", "fragment", "not-a-string"],
)  # fmt: skip
async def test_registration_refuses_a_logout_uri_tokens_must_not_go_to(
    sqlite_open_registration_server: LiveServer, value: object, description: str
) -> None:
    body = {"client_name": "Bad Logout App", "redirect_uris": [REDIRECT_URI], "backchannel_logout_uri": value}
    async with httpx.AsyncClient(base_url=sqlite_open_registration_server.url) as http:
        refused = await http.post("/oauth/register", json=body)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_client_metadata", "error_description": description}


async def test_a_client_registers_its_logout_uri_and_reads_it_back(
    sqlite_open_registration_server: LiveServer,
) -> None:
    server = sqlite_open_registration_server
    registration = {
        "client_name": "Registered Logout App",
        "redirect_uris": [REDIRECT_URI],
        "backchannel_logout_uri": LOGOUT_URI,
        "backchannel_logout_session_required": True,
    }
    async with httpx.AsyncClient(base_url=server.url) as http:
        registered = await http.post("/oauth/register", json=registration)
        plain = await http.post("/oauth/register", json={"client_name": "Plain App", "redirect_uris": [REDIRECT_URI]})
    assert registered.status_code == 201, registered.text
    client: dict[str, Any] = registered.json()
    assert (client["backchannel_logout_uri"], client["backchannel_logout_session_required"]) == (LOGOUT_URI, True)
    assert _shown(server, client["client_id"])["backchannel_logout_uri"] == LOGOUT_URI
    assert plain.status_code == 201, plain.text
    assert "backchannel_logout_uri" not in plain.json()
