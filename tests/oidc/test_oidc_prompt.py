"""prompt, max_age and login_hint at the authorization endpoint (OIDC Core §3.1.2.1, §3.1.2.6).

auth_time has a resolution of one second: the tests that show a fresh login moved it, or a login
grown older than max_age, run on a clock server and move its clock on by whole seconds.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from oidc_support import authentication_request, code_flow, redeem, verify_id_token

from support.browser import AUTHORIZE, HttpBrowser, without_query
from support.clock_server import ClockServer
from support.html import find_form
from support.pkce import Pkce
from support.provision import World, provision
from support.server import REDIRECT_URI


@pytest.fixture(scope="module")
def clock_world(sqlite_clock_server: ClockServer) -> World:
    """Alice and a web client on the SQLite clock server."""
    return World(
        sqlite_clock_server,
        *provision(sqlite_clock_server, {"alice": {"first_name": "Alice"}}, lambda _: {"web": ("--name", "Web RP")}),
    )


def _later_second(server: ClockServer, seconds: int = 1) -> int:
    """Move the server's clock on by whole ``seconds`` and return its second: a login after this has a later auth_time."""
    server.clock.advance(seconds=seconds)
    return _server_second(server)


def _server_second(server: ClockServer) -> int:
    return int(server.clock().timestamp())


def _clock_server(world: World) -> ClockServer:
    assert isinstance(world.server, ClockServer)
    return world.server


def _error_response(server_url: str, state: str, error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description, "state": state, "iss": server_url}


async def test_prompt_none_when_logged_out_returns_login_required(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    request = authentication_request(client, Pkce.new(), prompt="none")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        outcome = await browser.authorize(request)
    assert outcome.response.status_code == 303
    assert without_query(outcome.location) == REDIRECT_URI
    assert outcome.pages == []
    assert outcome.params == _error_response(
        server.url, request["state"], "login_required", "The user is not logged in"
    )


async def test_prompt_none_without_consent_returns_consent_required(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("silent")
    request = authentication_request(client, Pkce.new(), prompt="none")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        await browser.login()
        outcome = await browser.authorize(request)
    assert outcome.pages == []
    assert outcome.params == _error_response(
        server.url, request["state"], "consent_required", "The user has not yet allowed this app"
    )


async def test_prompt_none_with_a_session_and_consent_returns_a_code_silently(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        first = await code_flow(browser, client)
        pkce = Pkce.new()
        request = authentication_request(client, pkce, prompt="none")
        outcome = await browser.authorize(request)
    assert outcome.pages == []
    assert (outcome.params["state"], outcome.params["iss"]) == (request["state"], server.url)
    tokens = await redeem(server, client, outcome.code, pkce)
    claims = verify_id_token(tokens["id_token"], server, client["client_id"])
    assert claims["nonce"] == request["nonce"]
    assert claims["auth_time"] == verify_id_token(first.id_token, server, client["client_id"])["auth_time"]


async def test_prompt_none_with_other_values_is_invalid_request(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    request = authentication_request(client, Pkce.new(), prompt="none login")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        outcome = await browser.authorize(request)
    assert outcome.params == _error_response(
        server.url, request["state"], "invalid_request", "prompt=none cannot be combined with other prompt values"
    )


async def test_prompt_login_shows_the_login_form_to_a_logged_in_user_then_completes(clock_world: World) -> None:
    server, client = _clock_server(clock_world), clock_world.client("web")
    async with HttpBrowser(server, clock_world.user("alice")) as browser:
        first = await code_flow(browser, client)
        assert await browser.is_logged_in()
        relogin_from = _later_second(server)
        again = await code_flow(browser, client, prompt="login")
    assert again.outcome.pages[:1] == ["login"]
    first_login = verify_id_token(first.id_token, server, client["client_id"])["auth_time"]
    claims = verify_id_token(again.id_token, server, client["client_id"])
    assert claims["nonce"] == again.nonce
    assert relogin_from <= claims["auth_time"] <= _server_second(server)
    assert claims["auth_time"] > first_login


async def test_prompt_consent_asks_again_although_consent_is_remembered(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        await code_flow(browser, client)
        remembered = await code_flow(browser, client)
        assert remembered.outcome.pages == []
        asked = await browser.authorize(authentication_request(client, Pkce.new(), prompt="consent"), decision=None)
        assert asked.pages == ["consent"]
        assert asked.response.status_code == 200
        # Allowing on that page completes the request.
        pkce = Pkce.new()
        allowed = await browser.authorize(authentication_request(client, pkce, prompt="consent"))
    assert allowed.pages == ["consent"]
    tokens = await redeem(server, client, allowed.code, pkce)
    verify_id_token(tokens["id_token"], server, client["client_id"])


@pytest.mark.parametrize("max_age", ["0", "1"])
async def test_max_age_forces_a_fresh_login_and_auth_time_is_its_time(clock_world: World, max_age: str) -> None:
    server, client = _clock_server(clock_world), clock_world.client("web")
    async with HttpBrowser(server, clock_world.user("alice")) as browser:
        await browser.login()
        # The login grows older than max_age, into a later second.
        relogin_from = _later_second(server, int(max_age) + 1)
        flow = await code_flow(browser, client, max_age=max_age)
    assert flow.outcome.pages[:1] == ["login"]
    claims = verify_id_token(flow.id_token, server, client["client_id"])
    # §3.1.2.1: with max_age, auth_time is REQUIRED, and it is the new login's time.
    assert relogin_from <= claims["auth_time"] <= _server_second(server)


async def test_max_age_not_yet_reached_keeps_the_session_and_its_auth_time(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        first = await code_flow(browser, client)
        again = await code_flow(browser, client, max_age="3600")
    assert "login" not in again.outcome.pages
    first_login = verify_id_token(first.id_token, server, client["client_id"])["auth_time"]
    assert verify_id_token(again.id_token, server, client["client_id"])["auth_time"] == first_login


async def test_prompt_none_with_a_login_older_than_max_age_returns_login_required(clock_world: World) -> None:
    server, client = _clock_server(clock_world), clock_world.client("web")
    async with HttpBrowser(server, clock_world.user("alice")) as browser:
        await code_flow(browser, client)
        _later_second(server)
        request = authentication_request(client, Pkce.new(), prompt="none", max_age="0")
        outcome = await browser.authorize(request)
    assert outcome.pages == []
    assert outcome.params == _error_response(
        server.url, request["state"], "login_required", "The login is older than max_age"
    )


async def test_login_hint_fills_in_the_email_on_the_login_page(oidc_sqlite: World) -> None:
    server, user, client = oidc_sqlite.server, oidc_sqlite.user("alice"), oidc_sqlite.client("web")
    pkce = Pkce.new()
    request = authentication_request(client, pkce, login_hint=user["email"])
    async with HttpBrowser(server, user) as browser:
        redirect = await browser.http.get(f"{AUTHORIZE}?{urlencode(request)}")
        assert redirect.status_code == 303
        login_url = redirect.headers["location"]
        assert urlsplit(login_url).path == "/login"
        assert dict(parse_qsl(urlsplit(login_url).query))["login_hint"] == user["email"]
        page = await browser.http.get(login_url)
        form = find_form(page.text, "/login")
        assert form is not None
        assert form.fields["email"] == user["email"]
        # The pre-filled form, with only the password added, completes the request.
        outcome = await browser.follow(
            await browser.http.post("/login", data={**form.fields, "password": user["password"]})
        )
    assert outcome.params["state"] == request["state"]
    tokens = await redeem(server, client, outcome.code, pkce)
    assert verify_id_token(tokens["id_token"], server, client["client_id"])["sub"] == user["sub"]
