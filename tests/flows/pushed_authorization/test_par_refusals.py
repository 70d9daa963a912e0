"""What the PAR endpoint and the authorization endpoint refuse (RFC 9126 §2.1, §2.3, §4).

A push is refused as JSON, as the token endpoint refuses (never a redirect: nobody's browser is
there). A request_uri that cannot be used is refused on a page: the redirect URI it would go back to
is one of the parameters it stood for, so nothing can be sent there.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from par_support import (
    PAR,
    REQUEST_URI_PREFIX,
    authorize_url,
    library_client,
    push,
    pushed_code_request,
    pushed_request_uri,
    run_oauth4webapi,
)

from support.backchannel import BASIC_CHALLENGE, Backchannel, assert_oauth_error
from support.browser import HttpBrowser, assert_error_page
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.provision import World
from support.server import LiveServer


def _refused_on_a_page(response: httpx.Response, error: str, description: str) -> None:
    assert_error_page(response, f"Error code: {error}", description)


async def test_a_request_uri_is_good_for_one_authorization_request(world: World, api: Backchannel) -> None:
    server, client = world.server, world.client("web")
    pkce = Pkce.new()
    request_uri = await pushed_request_uri(server, client, pushed_code_request(pkce))
    async with HttpBrowser(server, server.create_user()) as browser:
        first = await browser.authorize_url(authorize_url(client, request_uri))
        again = await browser.authorize_url(authorize_url(client, request_uri))
    assert (await api.tokens(client, first.code, pkce))["scope"] == "openid profile email"
    _refused_on_a_page(
        again.response,
        "invalid_request_uri",
        "This request_uri was used already; each is good for one authorization request, so push the request again",
    )


async def test_a_request_uri_expires_after_its_lifetime(clock_world: World) -> None:
    server, client = clock_world.server, clock_world.client("web")
    assert isinstance(server, ClockServer)
    request_uri = await pushed_request_uri(server, client, pushed_code_request(Pkce.new()))
    server.clock.advance(seconds=61)
    async with HttpBrowser(server) as browser:
        response = await browser.http.get(authorize_url(client, request_uri))
    _refused_on_a_page(
        response,
        "invalid_request_uri",
        "This request_uri expired; push the authorization request again and use it at once",
    )


async def test_a_used_request_uri_outlives_its_lifetime_through_a_slow_login_but_not_past_half_an_hour(
    clock_world: World,
) -> None:
    server, client = clock_world.server, clock_world.client("web")
    assert isinstance(server, ClockServer)
    pkce = Pkce.new()
    outcomes = []
    for minutes_at_the_login_page in (2, 31):
        request_uri = await pushed_request_uri(server, client, pushed_code_request(pkce))
        async with HttpBrowser(server, server.create_user()) as browser:
            to_login = await browser.http.get(authorize_url(client, request_uri))
            assert to_login.status_code == 303 and to_login.headers["location"].startswith("/login?")
            server.clock.advance(minutes=minutes_at_the_login_page)
            outcomes.append(await browser.follow(to_login))
    slow, too_slow = outcomes
    assert slow.pages == ["login", "consent"]
    assert slow.params["state"] == "pushed-state"
    assert too_slow.pages == ["login"]
    _refused_on_a_page(
        too_slow.response,
        "invalid_request_uri",
        "This sign-in request has expired or was altered; go back to the app and start again",
    )


async def test_a_request_uri_pushed_by_another_client_is_refused_and_stays_usable_by_its_own(
    world: World, api: Backchannel
) -> None:
    server, web, other = world.server, world.client("web"), world.client("post")
    pkce = Pkce.new()
    request_uri = await pushed_request_uri(server, web, pushed_code_request(pkce))
    async with HttpBrowser(server, server.create_user()) as browser:
        stolen = await browser.http.get(authorize_url(other, request_uri))
        own = await browser.authorize_url(authorize_url(web, request_uri))
    _refused_on_a_page(stolen, "invalid_request_uri", "This request_uri was pushed by another client")
    assert (await api.tokens(web, own.code, pkce))["scope"] == "openid profile email"


@pytest.mark.parametrize(
    ("query", "error", "description"),
    [
        (
            {"request_uri": f"{REQUEST_URI_PREFIX}{secrets.token_urlsafe(32)}"},
            "invalid_request_uri",
            "This request_uri is unknown: it was never issued here or expired long ago; push the request again",
        ),
        (
            {"request_uri": REQUEST_URI_PREFIX},
            "invalid_request_uri",
            "request_uri must be a value this server returned from its pushed authorization request endpoint",
        ),
    ],
    ids=["unknown", "empty reference"],
)
async def test_a_request_uri_this_server_never_issued_is_refused_on_a_page(
    world: World, query: dict[str, str], error: str, description: str
) -> None:
    async with HttpBrowser(world.server) as browser:
        response = await browser.http.get(authorize_url(world.client("web"), query["request_uri"]))
    _refused_on_a_page(response, error, description)


async def test_a_request_uri_without_client_id_is_refused_on_a_page(world: World) -> None:
    request_uri = await pushed_request_uri(world.server, world.client("web"), pushed_code_request(Pkce.new()))
    async with HttpBrowser(world.server) as browser:
        response = await browser.http.get("/oauth/authorize", params={"request_uri": request_uri})
    _refused_on_a_page(response, "invalid_request", "Missing required parameter 'client_id': send it with request_uri")


async def test_a_carried_pushed_request_that_was_altered_is_refused_on_a_page(world: World) -> None:
    client = world.client("web")
    async with HttpBrowser(world.server) as browser:
        response = await browser.http.get(
            "/oauth/authorize", params={"client_id": client["client_id"], "pushed_request": "gAAAAAforged"}
        )
    _refused_on_a_page(
        response,
        "invalid_request_uri",
        "This sign-in request has expired or was altered; go back to the app and start again",
    )


PUSH_REFUSALS: dict[str, tuple[dict[str, str], str, str]] = {
    "request_uri inside the push": (
        {"request_uri": f"{REQUEST_URI_PREFIX}abc"},
        "invalid_request",
        "request_uri cannot be pushed; push the authorization request's own parameters",
    ),
    "redirect_uri not registered": (
        {"redirect_uri": "https://evil.example/callback"},
        "invalid_request",
        "redirect_uri does not exactly match any redirect URI registered for this client",
    ),
    "scope not registered": (
        {"scope": "openid admin"},
        "invalid_scope",
        "Scope 'admin' is not registered for this client; allowed: openid profile email roles all",
    ),
    "response_type the client may not use": (
        {"response_type": "token"},
        "unauthorized_client",
        "This client is not allowed to use response_type=token; the implicit flow must be switched on for the client",
    ),
}


@pytest.mark.parametrize(("extra", "error", "description"), list(PUSH_REFUSALS.values()), ids=list(PUSH_REFUSALS))
async def test_a_push_is_validated_as_the_authorization_request_and_refused_as_json(
    world: World, extra: dict[str, str], error: str, description: str
) -> None:
    response = await push(world.server, world.client("web"), pushed_code_request(Pkce.new(), **extra))
    assert_oauth_error(response, 400, error, description)


async def test_a_public_clients_push_needs_pkce(world: World) -> None:
    request = pushed_code_request(Pkce.new())
    del request["code_challenge"], request["code_challenge_method"]
    response = await push(world.server, world.client("spa"), request)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "code_challenge" in response.json()["error_description"]


async def test_a_confidential_client_must_authenticate_to_push(world: World) -> None:
    server, client = world.server, world.client("web")
    request = pushed_code_request(Pkce.new())
    wrong_secret = await push(server, {**client, "client_secret": "not-the-secret"}, request)
    no_secret = await push(server, None, {"client_id": client["client_id"], **request})
    described = "Client authentication failed: unknown client or wrong client_secret"
    assert_oauth_error(wrong_secret, 401, "invalid_client", described, challenge=BASIC_CHALLENGE)
    assert no_secret.status_code == 401
    assert no_secret.json()["error"] == "invalid_client"


async def test_oauth4webapi_reads_the_refusal_of_a_wrong_secret(world: World) -> None:
    arguments = {**library_client(world.server, world.client("web")), "client_secret": "not-the-secret"}
    status, answer = await run_oauth4webapi("push", arguments)
    assert status == 2
    described = "Client authentication failed: unknown client or wrong client_secret"
    assert answer == {"error": "invalid_client", "error_description": described, "status": 401, "challenge": ["basic"]}


async def test_the_par_endpoint_takes_post_only(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(PAR)
    # RFC 9126 §2.3: 405 for any other method.
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_a_push_answers_201_with_a_request_uri_and_is_never_cached(world: World) -> None:
    response = await push(world.server, world.client("web"), pushed_code_request(Pkce.new()))
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert set(body) == {"request_uri", "expires_in"}
    assert body["expires_in"] == 60
    assert body["request_uri"].startswith(REQUEST_URI_PREFIX)
