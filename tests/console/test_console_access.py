"""Who may reach the console: System Managers only, every form with its CSRF token, no page in a frame."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import pytest
from console_support import FRAME_ANCESTORS, admin_paths, shot, user_id_of

from support.console import ConsoleSession
from support.html import page_text
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer


@pytest.fixture(scope="module")
def outsider(sqlite_server: LiveServer) -> dict[str, Any]:
    """A user without System Manager, with a client and a login provider the paths can name."""
    user = sqlite_server.create_user(roles=())
    user["client_id"] = sqlite_server.create_client(name="Access Test App")["client_id"]
    user["provider"] = f"access{secrets.token_hex(3)}"
    sqlite_server.cli("provider", "add", user["provider"], "--preset", "google", "--client-id", "access-test")
    return user


async def _paths(server: LiveServer, outsider: dict[str, Any]) -> list[tuple[str, str]]:
    async with ConsoleSession(server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        user_id = await user_id_of(admin, outsider["email"])
    return admin_paths(client_id=outsider["client_id"], user_id=user_id, doctype="ToDo", provider=outsider["provider"])


async def test_non_admin_gets_403_on_every_admin_page(sqlite_server: LiveServer, outsider: dict[str, Any]) -> None:
    paths = await _paths(sqlite_server, outsider)
    async with ConsoleSession(sqlite_server) as session:
        await session.login(outsider["email"], outsider["password"])
        for method, path in paths:
            if method != "GET":
                continue
            response = await session.get(path)
            assert response.status_code == 403, path
            assert "Admins only" in page_text(response.text), path
            assert FRAME_ANCESTORS in response.headers["content-security-policy"], path


async def test_non_admin_cannot_submit_any_admin_form(sqlite_server: LiveServer, outsider: dict[str, Any]) -> None:
    paths = await _paths(sqlite_server, outsider)
    async with ConsoleSession(sqlite_server) as session:
        await session.login(outsider["email"], outsider["password"])
        for method, path in paths:
            if method == "POST":
                response = await session.post(path, {"name": "x", "enabled": "0", "roles": "System Manager"})
                assert response.status_code == 403, path
        assert (await session.get("/admin")).status_code == 403  # no form gave them the role


async def test_visitor_who_is_not_logged_in_is_sent_to_the_login_page(
    sqlite_server: LiveServer, outsider: dict[str, Any]
) -> None:
    paths = await _paths(sqlite_server, outsider)
    async with ConsoleSession(sqlite_server) as anonymous:
        for method, path in paths:
            if method == "GET":
                response = await anonymous.get(path)
                assert response.status_code == 303, path
                assert response.headers["location"] == f"/login?next={quote(path, safe='')}", path
            else:
                response = await anonymous.post(path, {"name": "x"})
                assert response.status_code == 303, path
                assert response.headers["location"] == "/login?next=%2Fadmin", path


async def test_admin_form_without_its_csrf_token_is_rejected_and_changes_nothing(
    sqlite_server: LiveServer, outsider: dict[str, Any]
) -> None:
    paths = await _paths(sqlite_server, outsider)
    app_name = f"Forged {secrets.token_hex(3)}"
    async with ConsoleSession(sqlite_server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        for method, path in paths:
            if method == "POST":
                response = await admin.post(path, {"app_name": app_name, "name": app_name}, with_csrf=False)
                assert response.status_code == 400, path
                assert "The form expired or was sent from another site" in page_text(response.text), path
        forged = await admin.http.post(
            "/admin/clients/new", data={"app_name": app_name, "csrf_token": "forged", "redirect_uris": "https://x/cb"}
        )
        assert forged.status_code == 400
        assert "No client matches" in page_text((await admin.get("/admin/clients", q=app_name)).text)
        assert (await admin.get(f"/admin/clients/{outsider['client_id']}")).status_code == 200  # not deleted


async def test_every_admin_page_forbids_framing(sqlite_server: LiveServer, outsider: dict[str, Any]) -> None:
    paths = await _paths(sqlite_server, outsider)
    async with ConsoleSession(sqlite_server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        for method, path in paths:
            if method == "GET":
                response = await admin.get(path)
                assert response.status_code == 200, path
                assert FRAME_ANCESTORS in response.headers["content-security-policy"], path
                assert response.headers["x-frame-options"] == "DENY", path
                assert response.headers["cache-control"] == "no-store", path


@pytest.mark.browser
async def test_non_admin_sees_a_403_page_in_the_browser(
    sqlite_server: LiveServer, outsider: dict[str, Any], page: Any
) -> None:
    await page.goto(f"{sqlite_server.url}/login?next=/admin/clients")
    await page.fill("#email", outsider["email"])
    await page.fill("#password", outsider["password"])
    async with page.expect_response(lambda r: r.url.endswith("/admin/clients")) as loaded:
        await page.get_by_role("button", name="Log in", exact=True).click()
    assert (await loaded.value).status == 403
    assert await page.get_by_role("heading", name="Admins only").is_visible()
    assert await page.get_by_text(f"You are logged in as {outsider['email']}, who is not one.").is_visible()
    assert await page.get_by_role("link", name="Admin console").count() == 0
    await shot(page, "forbidden")
