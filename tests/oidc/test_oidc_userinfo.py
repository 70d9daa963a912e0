"""UserInfo (OIDC Core §5.3, RFC 6750 §3) at /oauth/userinfo and Frappe's openid_profile.

Claims by scope are checked beside the id_token's, in test_oidc_id_token.py.

Failures tested over the wire: no token, a token Gatepass never issued (garbage), a revoked token,
and a token without ``openid``. An expired token is not tested here: the shortest access-token
lifetime the settings accept is 60 seconds, too slow for this suite.
"""

from __future__ import annotations

import httpx
import pytest
from oidc_support import (
    ALL_SCOPES,
    FRAPPE_OPENID_PROFILE,
    USERINFO,
    code_flow,
    revoke,
    sorted_roles,
    user_claims,
    verify_id_token,
)

from support.browser import HttpBrowser
from support.provision import World
from support.server import LiveServer


async def _userinfo(server: LiveServer, method: str, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.request(method, path, headers=headers)


def _assert_bearer_error(
    response: httpx.Response, server: LiveServer, status: int, error: str, description: str, scope: str | None = None
) -> None:
    """RFC 6750 §3: the status, the challenge naming the error, and the same words in the body."""
    challenge = f'Bearer realm="{server.url}", error="{error}", error_description="{description}"'
    body = {"error": error, "error_description": description}
    if scope is not None:
        challenge += f', scope="{scope}"'
        body["scope"] = scope
    assert response.status_code == status
    assert response.headers["www-authenticate"] == challenge
    assert response.json() == body


async def test_userinfo_answers_get_and_post_with_the_id_token_subject(oidc_world: World) -> None:
    server, user, client = oidc_world.server, oidc_world.user("alice"), oidc_world.client("web")
    async with HttpBrowser(server, user) as browser:
        flow = await code_flow(browser, client)
    subject = verify_id_token(flow.id_token, server, client["client_id"])["sub"]
    for method in ("GET", "POST"):
        response = await _userinfo(server, method, USERINFO, flow.tokens["access_token"])
        assert response.status_code == 200, method
        assert response.headers["cache-control"] == "no-store"
        assert sorted_roles(response.json()) == user_claims(user, ALL_SCOPES)
        assert response.json()["sub"] == subject


@pytest.mark.parametrize("path", [USERINFO, FRAPPE_OPENID_PROFILE], ids=["userinfo", "frappe"])
async def test_userinfo_without_a_token_is_invalid_token(oidc_sqlite: World, path: str) -> None:
    server = oidc_sqlite.server
    response = await _userinfo(server, "GET", path, None)
    _assert_bearer_error(
        response, server, 401, "invalid_token", "Send the access token as Authorization: Bearer <token>"
    )


@pytest.mark.parametrize("path", [USERINFO, FRAPPE_OPENID_PROFILE], ids=["userinfo", "frappe"])
async def test_userinfo_with_a_token_never_issued_is_invalid_token(oidc_sqlite: World, path: str) -> None:
    server = oidc_sqlite.server
    response = await _userinfo(server, "POST", path, "not-a-token-this-server-issued")
    _assert_bearer_error(response, server, 401, "invalid_token", "The access token is invalid")


async def test_userinfo_with_a_revoked_token_says_it_was_revoked(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        flow = await code_flow(browser, client)
    assert (await _userinfo(server, "GET", USERINFO, flow.tokens["access_token"])).status_code == 200
    await revoke(server, client, flow.tokens["access_token"])
    for path in (USERINFO, FRAPPE_OPENID_PROFILE):
        response = await _userinfo(server, "GET", path, flow.tokens["access_token"])
        _assert_bearer_error(response, server, 401, "invalid_token", "The access token has been revoked")


async def test_userinfo_with_a_token_without_openid_is_insufficient_scope(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        flow = await code_flow(browser, client, scope="profile email")
    assert "id_token" not in flow.tokens
    response = await _userinfo(server, "GET", USERINFO, flow.tokens["access_token"])
    _assert_bearer_error(
        response, server, 403, "insufficient_scope", "The access token does not have the openid scope", "openid"
    )


async def test_frappe_openid_profile_returns_frappes_fields_for_an_openid_token(oidc_sqlite: World) -> None:
    """Frappe's openid_profile returns every profile field and iss, whatever else the token was granted."""
    server, user, client = oidc_sqlite.server, oidc_sqlite.user("alice"), oidc_sqlite.client("web")
    async with HttpBrowser(server, user) as browser:
        flow = await code_flow(browser, client, scope="openid")
    frappe_fields = {"sub", "name", "given_name", "family_name", "email", "picture", "roles", "iss"}
    expected = {**user_claims(user, ALL_SCOPES), "iss": server.url}
    for method in ("GET", "POST"):
        response = await _userinfo(server, method, FRAPPE_OPENID_PROFILE, flow.tokens["access_token"])
        assert response.status_code == 200, method
        body = sorted_roles(response.json())
        assert frappe_fields <= set(body)
        assert {key: body[key] for key in frappe_fields} == {key: expected[key] for key in frappe_fields}
        # Relative picture paths become absolute with the server URL, as Frappe does.
        assert body["picture"] == f"{server.url}/files/alice.jpg"
