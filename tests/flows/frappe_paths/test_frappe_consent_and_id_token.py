"""The consent screen lists what the app will be able to read, and a Frappe-legacy id_token carries Frappe's profile.

Frappe's openid_profile returns name, email, picture and roles for every token with openid (and for
every token of a Frappe-legacy client); Frappe's own consent screen shows openid as those items. The
screen is checked against what the endpoints then really return.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest

from support.backchannel import Backchannel
from support.browser import FRAPPE_AUTHORIZE, HttpBrowser, code_request, redirect_params
from support.pkce import Pkce
from support.provision import World, provision
from support.server import REDIRECT_URI, LiveServer

OPENID_PROFILE = "/api/method/frappe.integrations.oauth2.openid_profile"
WHO = "Know who you are"
NAME = "See your name and picture"
EMAIL = "See your email address"
ROLES = "See your roles"
DOCUMENTS = "Act as you in the document API"
PROFILE_CLAIMS = {"name", "given_name", "family_name", "email", "roles"}


@pytest.fixture(scope="module")
def frappe_world(sqlite_server: LiveServer) -> Iterator[World]:
    """Users and clients of these tests only, so that each pair meets the consent screen."""
    users, clients = provision(
        sqlite_server,
        {
            "dora": {"first_name": "Dora", "last_name": "Desk"},
            "eli": {"first_name": "Eli", "last_name": "Entry"},
        },
        lambda _: {
            "legacy": ("--name", "Frappe Style App", "--frappe-legacy"),
            "legacy_hs256": ("--name", "Frappe HS256 App", "--frappe-legacy", "--id-token-alg", "HS256"),
            "standard": ("--name", "Standard App"),
        },
    )
    yield World(sqlite_server, users, clients)


def _listed(page: str) -> list[str]:
    return re.findall(r"<li><strong>([^<]*)</strong>", page)


@pytest.mark.parametrize(
    ("client", "scope", "listed"),
    [
        ("legacy", "openid all", [WHO, NAME, EMAIL, ROLES, DOCUMENTS]),
        # openid_profile answers a Frappe-legacy client's token without openid too.
        ("legacy", "all", [NAME, EMAIL, ROLES, DOCUMENTS]),
        # Any client's openid token reads the whole profile on Frappe's path.
        ("standard", "openid", [WHO, NAME, EMAIL, ROLES]),
        ("standard", "all", [DOCUMENTS]),
    ],
)
async def test_consent_lists_everything_the_app_will_be_able_to_read(
    frappe_world: World, client: str, scope: str, listed: list[str]
) -> None:
    async with HttpBrowser(frappe_world.server, frappe_world.user("eli")) as browser:
        outcome = await browser.authorize(
            code_request(frappe_world.client(client), Pkce.new(), scope=scope), path=FRAPPE_AUTHORIZE, decision=None
        )
    assert outcome.pages == ["login", "consent"]
    assert _listed(outcome.response.text) == listed


async def _redeem(world: World, client: dict[str, Any], code: str, pkce: Pkce) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        return await Backchannel(http, world.server).frappe().tokens(client, code, pkce)


async def _openid_profile(world: World, access_token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=world.server.url) as http:
        response = await http.get(OPENID_PROFILE, headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _verified(world: World, client: dict[str, Any], id_token: str) -> dict[str, Any]:
    """PyJWT checks the signature: the client secret for HS256, else the published keys."""
    header = jwt.get_unverified_header(id_token)
    if header["alg"] == "HS256":
        key: Any = client["client_secret"]
    else:
        jwks = httpx.get(world.server.url + "/.well-known/jwks.json").json()
        key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims: dict[str, Any] = jwt.decode(
        id_token, key, algorithms=[header["alg"]], audience=client["client_id"], issuer=world.server.url
    )
    return claims


@pytest.mark.browser
async def test_chromium_consent_for_openid_all_lists_what_openid_profile_and_the_id_token_give(
    frappe_world: World, page: Any
) -> None:
    world, user, client = frappe_world, frappe_world.user("dora"), frappe_world.client("legacy")
    pkce = Pkce.new()
    landed: list[str] = []

    async def capture(route: Any) -> None:
        landed.append(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="callback reached")

    await page.route("http://127.0.0.1:9999/**", capture)
    request = code_request(client, pkce, scope="openid all")
    await page.goto(f"{world.server.url}{FRAPPE_AUTHORIZE}?{urlencode(request)}")
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Allow")
    listed = [text.strip() for text in await page.locator("ul.scopes li strong").all_inner_texts()]
    assert listed == [WHO, NAME, EMAIL, ROLES, DOCUMENTS]
    await page.click("button[value=allow]")
    await page.wait_for_url(lambda url: url.startswith(REDIRECT_URI))

    tokens = await _redeem(world, client, redirect_params(landed[0])["code"], pkce)
    profile = await _openid_profile(world, tokens["access_token"])
    assert set(profile) >= PROFILE_CLAIMS
    assert profile["email"] == user["email"]
    claims = _verified(world, client, tokens["id_token"])
    assert {name: claims[name] for name in PROFILE_CLAIMS} == {name: profile[name] for name in PROFILE_CLAIMS}
    assert (claims["name"], claims["given_name"], claims["family_name"]) == ("Dora Desk", "Dora", "Desk")


@pytest.mark.parametrize(("client", "has_profile"), [("legacy_hs256", True), ("legacy", True), ("standard", False)])
async def test_the_id_token_for_openid_alone_carries_frappes_profile_for_frappe_legacy_clients_only(
    frappe_world: World, client: str, has_profile: bool
) -> None:
    registered, user, pkce = frappe_world.client(client), frappe_world.user("dora"), Pkce.new()
    async with HttpBrowser(frappe_world.server, user) as browser:
        outcome = await browser.authorize(code_request(registered, pkce, scope="openid"), path=FRAPPE_AUTHORIZE)
    tokens = await _redeem(frappe_world, registered, outcome.code, pkce)
    claims = _verified(frappe_world, registered, tokens["id_token"])
    assert claims["sub"]
    if has_profile:
        assert claims["email"] == user["email"]
        assert claims["name"] == "Dora Desk"
        assert isinstance(claims["roles"], list)
    else:
        assert PROFILE_CLAIMS & set(claims) == set()
