"""Who must use PAR, and who is told so: discovery (RFC 9126 §5), the server-wide setting, the client
metadata of the CLI and of dynamic registration (RFC 9126 §6), and a lifetime set by the admin."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from par_support import (
    authorize_as_new_user,
    authorize_url,
    library_client,
    pushed_code_request,
    pushed_request_uri,
    run_oauth4webapi,
)

from support.backchannel import Backchannel
from support.browser import HttpBrowser, assert_error_redirect
from support.pkce import Pkce, s256
from support.server import REDIRECT_URI, LiveServer

METADATA_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
PAR_REQUIRED = (
    "This client must push its authorization requests to the pushed authorization request endpoint, "
    "then send only client_id and request_uri here"
)


@pytest.mark.parametrize("path", METADATA_PATHS)
async def test_discovery_advertises_the_par_endpoint_and_that_it_is_optional(
    sqlite_server: LiveServer, path: str
) -> None:
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        metadata = (await http.get(path)).json()
    assert metadata["pushed_authorization_request_endpoint"] == f"{sqlite_server.url}/oauth/par"
    assert metadata["require_pushed_authorization_requests"] is False


async def test_with_par_required_server_wide_every_client_pushes_and_discovery_says_so(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server(
        "sqlite",
        GATEPASS_SECURITY_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS="true",
        GATEPASS_TOKENS_PUSHED_REQUEST_TTL_SECONDS="30",
    )
    client, user = server.create_client(name="Ordinary App"), server.create_user()
    async with httpx.AsyncClient(base_url=server.url) as http:
        metadata = [(await http.get(path)).json() for path in METADATA_PATHS]
    assert [document["require_pushed_authorization_requests"] for document in metadata] == [True, True]

    plain = {"client_id": client["client_id"], **pushed_code_request(Pkce.new())}
    async with HttpBrowser(server, user) as browser:
        refused = await browser.authorize(plain)
    assert_error_redirect(refused, server, "invalid_request", PAR_REQUIRED, state="pushed-state")

    arguments = library_client(server, client)
    status, pushed = await run_oauth4webapi("push", arguments)
    assert status == 0, pushed
    assert pushed["expires_in"] == 30
    async with HttpBrowser(server, user) as browser:
        outcome = await browser.authorize_url(pushed["authorization_url"])
    redeem = {
        **arguments,
        "callback_url": outcome.location,
        **{k: pushed[k] for k in ("code_verifier", "state", "nonce")},
    }
    status, tokens = await run_oauth4webapi("redeem", redeem)
    assert status == 0, tokens
    assert "access_token" in tokens


def test_the_cli_sets_shows_and_clears_the_par_requirement(sqlite_server: LiveServer) -> None:
    client = sqlite_server.create_client("--require-par", name="CLI PAR App")
    assert client["require_pushed_authorization_requests"] is True
    sqlite_server.cli("client", "update", client["client_id"], "--no-require-par")
    shown: dict[str, Any] = json.loads(sqlite_server.cli("client", "show", client["client_id"], "--json").stdout)
    assert shown["require_pushed_authorization_requests"] is False


async def test_a_client_registers_itself_as_required_to_push_and_is_held_to_it(
    sqlite_open_registration_server: LiveServer,
) -> None:
    server = sqlite_open_registration_server
    registration: dict[str, Any] = {
        "client_name": "Registered PAR App",
        "redirect_uris": [REDIRECT_URI],
        "require_pushed_authorization_requests": True,
    }
    async with httpx.AsyncClient(base_url=server.url) as http:
        registered = await http.post("/oauth/register", json=registration)
        not_a_flag = await http.post(
            "/oauth/register", json={**registration, "require_pushed_authorization_requests": "yes"}
        )
        plain = await http.post("/oauth/register", json={"client_name": "Plain App", "redirect_uris": [REDIRECT_URI]})
    assert registered.status_code == 201, registered.text
    client: dict[str, Any] = registered.json()
    assert client["require_pushed_authorization_requests"] is True
    assert not_a_flag.status_code == 400
    assert not_a_flag.json() == {
        "error": "invalid_client_metadata",
        "error_description": "require_pushed_authorization_requests must be true or false",
    }
    assert plain.json()["require_pushed_authorization_requests"] is False

    # Held to it: a plain request goes nowhere (the client is unproven, so not even to its redirect URI) ...
    plain_request = {"client_id": client["client_id"], **pushed_code_request(Pkce.new())}
    async with HttpBrowser(server, server.create_user()) as browser:
        refused = await browser.authorize(plain_request)
        # ... and a pushed one is welcome.
        request_uri = await pushed_request_uri(
            server, client, {k: v for k, v in plain_request.items() if k != "client_id"}
        )
        outcome = await browser.authorize_url(authorize_url(client, request_uri))
    assert refused.response.status_code == 400
    assert PAR_REQUIRED.split(",")[0] in refused.response.text
    assert "code" in outcome.params


async def test_client_try_pushes_the_request_of_a_client_that_must_use_par(
    sqlite_server: LiveServer, sqlite_api: Backchannel
) -> None:
    client = sqlite_server.create_client("--require-par", name="Try PAR App")
    printed = sqlite_server.cli("client", "try", client["client_id"]).stdout
    assert "Open this URL in a browser within 60 seconds" in printed
    url = re.search(r"^(http://\S+/oauth/authorize\?\S+)$", printed, re.MULTILINE)
    verifier = re.search(r"code_verifier=(\S+)", printed)
    assert url is not None and verifier is not None, printed
    query = dict(parse_qsl(urlsplit(url.group(1)).query))
    assert set(query) == {"client_id", "request_uri"}
    outcome = await authorize_as_new_user(sqlite_server, url.group(1))
    pkce = Pkce(verifier.group(1), s256(verifier.group(1)))
    tokens = await sqlite_api.tokens(client, outcome.code, pkce)
    assert "access_token" in tokens
