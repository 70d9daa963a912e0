"""The token endpoint redeeming codes: client authentication and the RFC 6749 §5.2 errors.

Every error is checked to the exact error, error_description, status and headers.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from support.backchannel import (
    BASIC_CHALLENGE,
    BASIC_CLIENT_USED_POST,
    POST_CLIENT_USED_BASIC,
    TOKEN,
    Backchannel,
    assert_oauth_error,
)
from support.browser import code_request, logged_in
from support.pkce import Pkce
from support.provision import World
from support.server import REDIRECT_URI


async def _code(world: World, client: dict[str, Any], pkce: Pkce | None, **extra: Any) -> str:
    browser = await logged_in(world.server, world.user("alice"))
    return (await browser.authorize(code_request(client, pkce, **extra))).code


def _form(code: str, pkce: Pkce | None = None) -> dict[str, str]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if pkce is not None:
        form["code_verifier"] = pkce.verifier
    return form


async def test_token_response_has_every_field_and_is_never_cached(sqlite_world: World, sqlite_api: Backchannel) -> None:
    web, pkce = sqlite_world.client("web"), Pkce.new()
    code = await _code(sqlite_world, web, pkce, scope="profile all")
    response = await sqlite_api.redeem(web, code, pkce)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "profile all")
    assert len(body["access_token"]) >= 43
    assert body["refresh_token"] != body["access_token"]


async def test_client_secret_post_client_authenticates_in_the_body(
    sqlite_world: World, sqlite_api: Backchannel
) -> None:
    post, pkce = sqlite_world.client("post"), Pkce.new()
    tokens = await sqlite_api.tokens(post, await _code(sqlite_world, post, pkce), pkce)
    assert tokens["token_type"] == "Bearer"


@pytest.mark.parametrize("method", ["basic", "post"])
async def test_frappe_legacy_client_may_use_either_secret_method(
    sqlite_world: World, http: httpx.AsyncClient, method: str
) -> None:
    legacy, pkce = sqlite_world.client("legacy"), Pkce.new()
    form = _form(await _code(sqlite_world, legacy, pkce), pkce)
    url = sqlite_world.server.url + TOKEN
    if method == "basic":
        response = await http.post(url, data=form, auth=(legacy["client_id"], legacy["client_secret"]))
    else:
        response = await http.post(
            url, data={**form, "client_id": legacy["client_id"], "client_secret": legacy["client_secret"]}
        )
    assert response.status_code == 200, response.text


async def test_wrong_client_secret_is_401_invalid_client_with_a_basic_challenge(
    sqlite_world: World, http: httpx.AsyncClient
) -> None:
    web = sqlite_world.client("web")
    response = await http.post(
        sqlite_world.server.url + TOKEN, data=_form("any-code"), auth=(web["client_id"], "not-the-secret")
    )
    assert_oauth_error(
        response,
        401,
        "invalid_client",
        "Client authentication failed: unknown client or wrong client_secret",
        challenge=BASIC_CHALLENGE,
    )


@pytest.mark.parametrize(
    ("client_name", "credentials", "status", "error", "description"),
    [
        (
            "web",
            "post",
            401,
            "invalid_client",
            BASIC_CLIENT_USED_POST,
        ),
        (
            "post",
            "basic",
            401,
            "invalid_client",
            POST_CLIENT_USED_BASIC,
        ),
        (
            "web",
            "client_id",
            401,
            "invalid_client",
            "This client must authenticate with client_secret_basic: the client_secret is missing",
        ),
        (
            "web",
            "nothing",
            401,
            "invalid_client",
            "Client authentication is required: send client_id (and client_secret) by HTTP Basic or in the body",
        ),
        (
            "spa",
            "post-made-up-secret",
            401,
            "invalid_client",
            "This is a public client: send client_id only, without a client_secret",
        ),
        (
            "web",
            "basic-and-body",
            400,
            "invalid_request",
            "Send the client secret in the Authorization header or the body, not both",
        ),
        (
            "web",
            "garbled-basic",
            401,
            "invalid_client",
            "The Basic Authorization header is not valid base64 of client_id:client_secret",
        ),
        (
            "unknown",
            "basic",
            401,
            "invalid_client",
            "Client authentication failed: unknown client or wrong client_secret",
        ),
    ],
    ids=[
        "basic-client-uses-post",
        "post-client-uses-basic",
        "secret-missing",
        "no-client-authentication",
        "public-client-sends-secret",
        "two-methods-at-once",
        "garbled-basic",
        "unknown-client",
    ],
)
async def test_client_must_authenticate_exactly_as_registered(
    sqlite_world: World,
    http: httpx.AsyncClient,
    client_name: str,
    credentials: str,
    status: int,
    error: str,
    description: str,
) -> None:
    client = (
        sqlite_world.client(client_name)
        if client_name != "unknown"
        else {"client_id": "no-such-client", "client_secret": "whatever"}
    )
    client_id, secret = client["client_id"], client.get("client_secret") or "made-up-secret"
    form = _form("any-code")
    url = sqlite_world.server.url + TOKEN
    if credentials == "post" or credentials == "post-made-up-secret":
        response = await http.post(url, data={**form, "client_id": client_id, "client_secret": secret})
    elif credentials == "basic":
        response = await http.post(url, data=form, auth=(client_id, secret))
    elif credentials == "client_id":
        response = await http.post(url, data={**form, "client_id": client_id})
    elif credentials == "basic-and-body":
        response = await http.post(url, data={**form, "client_secret": secret}, auth=(client_id, secret))
    elif credentials == "garbled-basic":
        response = await http.post(url, data=form, headers={"Authorization": "Basic %%%not-base64"})
    else:
        response = await http.post(url, data=form)
    assert_oauth_error(response, status, error, description, challenge=BASIC_CHALLENGE if status == 401 else None)


@pytest.mark.parametrize(
    ("client_name", "grant_type", "status", "error", "description"),
    [
        (
            "web",
            "password",
            400,
            "unsupported_grant_type",
            "grant_type 'password' is not supported; "
            "use authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code "
            "or urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        (
            "web",
            "urn:ietf:params:oauth:grant-type:device_code",
            400,
            "unauthorized_client",
            "This client is not allowed to use the urn:ietf:params:oauth:grant-type:device_code grant",
        ),
        ("web", None, 400, "invalid_request", "Missing required parameter 'grant_type'"),
        (
            "web",
            "client_credentials",
            400,
            "unauthorized_client",
            "This client is not allowed to use the client_credentials grant",
        ),
        (
            "code_only",
            "refresh_token",
            400,
            "unauthorized_client",
            "This client is not allowed to use the refresh_token grant",
        ),
        (
            "rs",
            "authorization_code",
            400,
            "unauthorized_client",
            "This client is not allowed to use the authorization_code grant",
        ),
    ],
    ids=[
        "password",
        "device-code-not-allowed",
        "missing",
        "client-credentials-not-allowed",
        "refresh-not-allowed",
        "code-not-allowed",
    ],
)
async def test_grant_type_must_be_supported_and_allowed_for_the_client(
    sqlite_world: World,
    sqlite_api: Backchannel,
    client_name: str,
    grant_type: str | None,
    status: int,
    error: str,
    description: str,
) -> None:
    form = {"grant_type": grant_type} if grant_type is not None else {}
    response = await sqlite_api.token(
        sqlite_world.client(client_name), **form, code="any-code", refresh_token="any-refresh-token"
    )
    assert_oauth_error(response, status, error, description)


async def test_client_without_refresh_grant_gets_no_refresh_token(sqlite_world: World, sqlite_api: Backchannel) -> None:
    client, pkce = sqlite_world.client("code_only"), Pkce.new()
    tokens = await sqlite_api.tokens(client, await _code(sqlite_world, client, pkce), pkce)
    assert "refresh_token" not in tokens


@pytest.mark.parametrize(
    ("case", "description"),
    [
        ("unknown-code", "The authorization code is invalid or has expired"),
        ("other-client", "The authorization code was issued to another client"),
        ("redirect-uri-differs", "redirect_uri differs from the one used in the authorization request"),
        ("redirect-uri-missing", "redirect_uri is required: it was sent in the authorization request"),
        ("wrong-verifier", "code_verifier does not match the code_challenge"),
        ("missing-verifier", "code_verifier is required: this code was issued with a code_challenge"),
        ("malformed-verifier", "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]"),
    ],
)
async def test_code_redemption_errors_are_invalid_grant(
    sqlite_world: World, sqlite_api: Backchannel, case: str, description: str
) -> None:
    web, pkce = sqlite_world.client("web"), Pkce.new()
    code = "not-a-code" if case == "unknown-code" else await _code(sqlite_world, web, pkce)
    redirect_uri: str | None = REDIRECT_URI
    verifier: Pkce | None = pkce
    client = web
    if case == "other-client":
        client = sqlite_world.client("post")
    elif case == "redirect-uri-differs":
        redirect_uri = REDIRECT_URI + "/other"
    elif case == "redirect-uri-missing":
        redirect_uri = None
    elif case == "wrong-verifier":
        verifier = Pkce.new()
    elif case == "missing-verifier":
        verifier = None
    elif case == "malformed-verifier":
        verifier = Pkce("short", pkce.challenge)
    response = await sqlite_api.redeem(client, code, verifier, redirect_uri=redirect_uri)
    assert_oauth_error(response, 400, "invalid_grant", description)
    retry = await sqlite_api.redeem(web, code, pkce)
    if case.endswith("-verifier"):
        # A failed PKCE check burns the code: whoever holds a stolen code gets one guess at the verifier.
        assert_oauth_error(
            retry, 400, "invalid_grant", "The authorization code was already used; tokens issued from it are revoked"
        )
    elif case != "unknown-code":
        # Any other failed attempt does not use the code up: the rightful client can still redeem it.
        assert retry.status_code == 200


async def test_verifier_without_a_challenge_is_refused(sqlite_world: World, sqlite_api: Backchannel) -> None:
    client = sqlite_world.client("no_pkce")
    code = await _code(sqlite_world, client, None)
    response = await sqlite_api.redeem(client, code, Pkce.new())
    assert_oauth_error(
        response, 400, "invalid_grant", "code_verifier was sent but the authorization request had no code_challenge"
    )
    # Like any failed PKCE check, the attempted downgrade burns the code.
    assert_oauth_error(
        await sqlite_api.redeem(client, code, None),
        400,
        "invalid_grant",
        "The authorization code was already used; tokens issued from it are revoked",
    )


async def test_redirect_uri_may_be_left_out_at_the_token_endpoint_when_it_was_left_out_before(
    sqlite_world: World, sqlite_api: Backchannel
) -> None:
    web, pkce = sqlite_world.client("web"), Pkce.new()
    code = await _code(sqlite_world, web, pkce, redirect_uri=None)
    assert (await sqlite_api.redeem(web, code, pkce, redirect_uri=None)).status_code == 200


@pytest.mark.parametrize(
    ("request_kwargs", "description"),
    [
        (
            {"json": {"grant_type": "client_credentials"}},
            "Send the parameters as application/x-www-form-urlencoded in the request body",
        ),
        (
            {"content": "grant_type=client_credentials&grant_type=client_credentials"},
            "Parameter 'grant_type' was sent more than once; send it once",
        ),
    ],
    ids=["json-body", "repeated-parameter"],
)
async def test_malformed_token_requests_are_invalid_request(
    sqlite_world: World, http: httpx.AsyncClient, request_kwargs: dict[str, Any], description: str
) -> None:
    web = sqlite_world.client("web")
    headers = {"Authorization": "Basic " + base64.b64encode(f"{web['client_id']}:x".encode()).decode()}
    if "content" in request_kwargs:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = await http.post(sqlite_world.server.url + TOKEN, headers=headers, **request_kwargs)
    assert_oauth_error(response, 400, "invalid_request", description)


async def test_token_endpoint_answers_get_with_405(sqlite_world: World, http: httpx.AsyncClient) -> None:
    response = await http.get(sqlite_world.server.url + TOKEN)
    assert (response.status_code, response.json()) == (
        405,
        {"error": "invalid_request", "error_description": "Use POST for this endpoint"},
    )
    assert response.headers["allow"] == "POST"
