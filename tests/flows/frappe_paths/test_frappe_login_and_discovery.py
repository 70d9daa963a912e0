"""What links and apps written for Frappe send: /login?redirect-to=..., and v13/v14's discovery path."""

from __future__ import annotations

import httpx
import pytest

from support.browser import HttpBrowser
from support.provision import World

FRAPPE_DISCOVERY = "/api/method/frappe.integrations.oauth2.openid_configuration"
TARGET = "/oauth/authorize?client_id=abc&response_type=code&scope=openid%20all"


async def test_login_honours_redirect_to_as_it_honours_next(sqlite_world: World) -> None:
    async with HttpBrowser(sqlite_world.server, sqlite_world.user("bob")) as browser:
        page = await browser.http.get("/login", params={"redirect-to": TARGET})
        assert page.status_code == 200
        logged_in = await browser.submit_login(page)
        assert (logged_in.status_code, logged_in.headers["location"]) == (303, TARGET)
        # Already logged in: straight on.
        again = await browser.http.get("/login", params={"redirect-to": "/?from=frappe"})
        assert (again.status_code, again.headers["location"]) == (303, "/?from=frappe")
        both = await browser.http.get("/login", params={"next": "/?from=next", "redirect-to": "/?from=frappe"})
        assert both.headers["location"] == "/?from=next"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"]
)
async def test_redirect_to_leaves_the_site_never(sqlite_world: World, target: str) -> None:
    async with HttpBrowser(sqlite_world.server, sqlite_world.user("bob")) as browser:
        page = await browser.http.get("/login", params={"redirect-to": target})
        assert "evil.example" not in page.text and "javascript:" not in page.text
        logged_in = await browser.submit_login(page)
        assert (logged_in.status_code, logged_in.headers["location"]) == (303, "/")
        again = await browser.http.get("/login", params={"redirect-to": target})
        assert again.headers["location"] == "/"


async def test_frappe_discovery_path_serves_the_openid_configuration(sqlite_world: World) -> None:
    async with httpx.AsyncClient(base_url=sqlite_world.server.url) as http:
        standard = await http.get("/.well-known/openid-configuration")
        frappe = await http.get(FRAPPE_DISCOVERY)
    assert frappe.status_code == 200
    assert frappe.headers["content-type"] == "application/json"
    assert frappe.json() == standard.json()
    assert frappe.json()["issuer"] == sqlite_world.server.url
    # Registration is off on this server: the member is left out, not null.
    assert "registration_endpoint" not in frappe.json()
    assert [name for name, value in frappe.json().items() if value is None] == []
