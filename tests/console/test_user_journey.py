"""A user's side: grant an app, find it under Connected apps, take the access back; switch account on consent."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from console_support import FRAME_ANCESTORS, console_client, console_user, query_of, shot

from support.console import ConsoleSession
from support.pkce import s256
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT_URI, LiveServer

pytestmark = pytest.mark.browser


def _authorization_url(server: LiveServer, client_id: str, verifier: str, state: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email all",
        "state": state,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    return f"{server.url}/oauth/authorize?{urlencode(params)}"


async def _make(server: LiveServer, app_name: str, *first_names: str) -> tuple[list[dict[str, Any]], str, str]:
    """Users and a confidential client, made through the console (quicker than the CLI)."""
    async with ConsoleSession(server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        users = [await console_user(admin, first_name=name) for name in first_names]
        client_id, secret = await console_client(admin, app_name)
    assert secret is not None
    return users, client_id, secret


async def _catch_callbacks(page: Any) -> list[str]:
    reached: list[str] = []

    async def catch(route: Any) -> None:
        reached.append(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="the client's callback")

    await page.route("http://127.0.0.1:9999/**", catch)
    return reached


async def test_user_grants_an_app_sees_it_in_connected_apps_and_revokes_it(
    sqlite_server: LiveServer, page: Any
) -> None:
    app_name = f"Notes Sync {secrets.token_hex(3)}"
    (user,), client_id, secret = await _make(sqlite_server, app_name, "Robin")
    client = {"client_id": client_id, "client_secret": secret}
    verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(8)
    reached = await _catch_callbacks(page)

    await page.goto(_authorization_url(sqlite_server, client["client_id"], verifier, state))
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    await page.get_by_role("button", name="Log in", exact=True).click()
    async with page.expect_response(lambda r: r.url.endswith("/oauth/consent")):
        await page.get_by_role("button", name="Allow").click()
    await page.wait_for_url("http://127.0.0.1:9999/**")
    code = query_of(reached[-1])["code"]
    async with httpx.AsyncClient(base_url=sqlite_server.url, timeout=30) as http:
        tokens = (
            await http.post(
                "/oauth/token",
                auth=(client["client_id"], client["client_secret"]),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT_URI,
                    "code_verifier": verifier,
                },
            )
        ).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await http.get("/oauth/userinfo", headers=bearer)).status_code == 200

        response = await page.goto(f"{sqlite_server.url}/")
        assert FRAME_ANCESTORS in (await response.all_headers())["content-security-policy"]
        row = page.locator("table tbody tr", has_text=app_name)
        assert await row.count() == 1
        # Access in the consent screen's words, not scope codes.
        assert "Know who you are" in await row.inner_text()
        assert "openid" not in await row.inner_text()
        await shot(page, "connected-apps")
        await row.get_by_role("button", name=f"Revoke access of {app_name}").click()
        # It asks first, saying what the app loses; nothing is revoked yet.
        await page.wait_for_url("**/account/apps/revoke?**")
        assert await page.get_by_role("heading", name=f"Revoke access of {app_name}?").is_visible()
        assert (await http.get("/oauth/userinfo", headers=bearer)).status_code == 200
        async with page.expect_navigation():
            await page.get_by_role("button", name="Revoke access", exact=True).click()
        assert await page.locator("table tbody tr", has_text=app_name).count() == 0
        assert f"{app_name} no longer has access" in await page.get_by_role("status").inner_text()
        await shot(page, "connected-apps-after-revoke")

        assert (await http.get("/oauth/userinfo", headers=bearer)).status_code == 401
        refreshed = await http.post(
            "/oauth/token",
            auth=(client["client_id"], client["client_secret"]),
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"

    # The remembered consent went too: the app must ask again.
    await page.goto(_authorization_url(sqlite_server, client["client_id"], verifier, state))
    assert await page.get_by_role("heading", name=f"Allow {app_name} to access your account?").is_visible()


async def test_not_you_on_the_consent_page_switches_to_another_account(sqlite_server: LiveServer, page: Any) -> None:
    app_name = f"Calendar {secrets.token_hex(3)}"
    (first, second), client_id, _ = await _make(sqlite_server, app_name, "First", "Second")
    client = {"client_id": client_id}
    reached = await _catch_callbacks(page)
    await page.goto(_authorization_url(sqlite_server, client["client_id"], secrets.token_urlsafe(48), "s1"))
    await page.fill("#email", first["email"])
    await page.fill("#password", first["password"])
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in", exact=True).click()
    consent = await page.request.get(page.url)  # the consent page itself must never be framed
    assert "Allow" in await consent.text()
    assert FRAME_ANCESTORS in consent.headers["content-security-policy"]
    assert consent.headers["x-frame-options"] == "DENY"
    async with page.expect_navigation():
        await page.get_by_role("link", name="Not you? Switch account").click()
    assert await page.get_by_text(f"You are logged in as {first['email']}.").is_visible()
    assert await page.get_by_text(f"to continue to {app_name}").is_visible()
    await shot(page, "login-switch-account")

    await page.fill("#email", second["email"])
    await page.fill("#password", "wrong-password-1")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in", exact=True).click()
    assert await page.get_by_role("alert").inner_text() == "Wrong email or password."
    assert await page.get_by_text(f"to continue to {app_name}").is_visible()
    await shot(page, "login-error")

    await page.fill("#password", second["password"])
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in", exact=True).click()
    assert await page.get_by_text(f"Logged in as {second['email']}").is_visible()
    await page.get_by_role("button", name="Deny").click()
    await page.wait_for_url("http://127.0.0.1:9999/**")
    assert query_of(reached[-1])["error"] == "access_denied"
