"""The whole admin journey in Debian's headless Chromium, on every database backend.

An admin logs in, registers a client and copies its credentials from the page, runs an authorization
with it (a user logs in and allows in another browser), the code is exchanged over HTTP, the admin
finds the token in the console and revokes it, and the client's next API call fails with 401.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
from console_support import FRAME_ANCESTORS, console_client, console_user, exchange_code, query_of, shot

from support.console import ConsoleSession
from support.pkce import s256
from support.rows import rows
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT_URI, LiveServer

pytestmark = pytest.mark.browser


async def _admin_logs_in(page: Any, server: LiveServer) -> None:
    response = await page.goto(f"{server.url}/admin")
    assert response.status == 200
    assert page.url.startswith(f"{server.url}/login?")  # not logged in: the login page, coming back after
    await page.fill("#email", ADMIN_EMAIL)
    await page.fill("#password", ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await page.wait_for_url(f"{server.url}/admin")
    assert await page.get_by_role("heading", name="Admin console").is_visible()


async def _admin_registers_a_client(page: Any, server: LiveServer, app_name: str) -> tuple[str, str]:
    await page.get_by_role("navigation", name="Admin console").get_by_role("link", name="Clients").click()
    await page.get_by_role("link", name="New client").click()
    await page.fill("#app_name", app_name)
    await page.fill("#redirect_uris", REDIRECT_URI)
    await page.fill("#client_uri", "https://app.example.com")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create client").click()
    assert await page.get_by_role("heading", name=f"{app_name} is registered").is_visible()
    client_id, secret = await page.input_value("#client-id"), await page.input_value("#client-secret")
    assert len(client_id) >= 16 and len(secret) >= 40
    assert await page.get_by_text("It is shown only this once").is_visible()
    await shot(page, f"{server.backend}-client-created")
    return client_id, secret


async def _admin_builds_the_authorization_url(page: Any, server: LiveServer) -> dict[str, str]:
    async with page.expect_navigation():
        await page.get_by_role("link", name="Try it").click()
    trial = {
        "url": await page.input_value("#authorization-url"),
        "verifier": await page.input_value("#code-verifier"),
        "challenge": await page.input_value("#code-challenge"),
        "state": await page.input_value("#state"),
    }
    assert trial["challenge"] == s256(trial["verifier"])
    await shot(page, f"{server.backend}-client-try")
    return trial


async def _admin_creates_a_user(page: Any, server: LiveServer, email: str, password: str) -> None:
    await page.get_by_role("navigation", name="Admin console").get_by_role("link", name="Users").click()
    await page.fill("#new-email", email)
    await page.fill("#new-first", "Casey")
    await page.fill("#new-last", "Console")
    await page.fill("#new-password", password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create user").click()
    assert await page.get_by_role("heading", name="Casey Console").is_visible()
    assert await page.get_by_text("Created.").is_visible()
    await shot(page, f"{server.backend}-user-created")


async def _user_allows(
    browser: Any, server: LiveServer, trial: dict[str, str], app_name: str, email: str, password: str
) -> str:
    """The user's own browser: log in, allow; the redirect to the client is caught (nothing listens there)."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        reached: list[str] = []

        async def catch_callback(route: Any) -> None:
            reached.append(route.request.url)
            await route.fulfill(status=200, content_type="text/plain", body="the client's callback")

        await page.route("http://127.0.0.1:9999/**", catch_callback)
        await page.goto(trial["url"])
        assert await page.get_by_text(f"to continue to {app_name}").is_visible()
        await shot(page, f"{server.backend}-login-for-app")
        await page.fill("#email", email)
        await page.fill("#password", password)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Log in", exact=True).click()
        assert await page.get_by_role("heading", name=f"Allow {app_name} to access your account?").is_visible()
        assert await page.get_by_text(f"Logged in as {email}").is_visible()
        assert await page.get_by_role("link", name="Not you? Switch account").is_visible()
        assert await page.get_by_text("See your email address").is_visible()
        await shot(page, f"{server.backend}-consent")
        await page.get_by_role("button", name="Allow").click()
        await page.wait_for_url("http://127.0.0.1:9999/**")
    finally:
        await context.close()
    assert len(reached) == 1
    response = query_of(reached[0])
    assert response["state"] == trial["state"]
    assert response["iss"] == server.url
    return response["code"]


async def _client_exchanges_the_code(server: LiveServer, client_id: str, secret: str, code: str, verifier: str) -> str:
    body = await exchange_code(server, client_id, secret, code, verifier)
    assert body["token_type"] == "Bearer"
    assert "refresh_token" in body
    access_token: str = body["access_token"]
    return access_token


async def _api_status(server: LiveServer, access_token: str) -> tuple[int, int, str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        headers = {"Authorization": f"Bearer {access_token}"}
        userinfo = await http.get("/oauth/userinfo", headers=headers)
        documents = await http.get("/api/resource/ToDo", headers=headers)
    return userinfo.status_code, documents.status_code, userinfo.headers.get("www-authenticate", "")


async def _admin_finds_and_revokes_the_token(page: Any, server: LiveServer, client_id: str, email: str) -> None:
    await page.get_by_role("navigation", name="Admin console").get_by_role("link", name="Tokens").click()
    await page.select_option("#client", client_id)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.data tbody tr")
    assert await rows.count() == 1
    assert email in await rows.first.inner_text()
    await shot(page, f"{server.backend}-tokens")
    async with page.expect_navigation():
        await rows.first.get_by_role("button", name="Revoke").click()
    assert await page.get_by_text("Revoked: the tokens of that grant no longer work.").is_visible()
    assert await page.get_by_text("No live tokens.").is_visible()


async def _admin_reads_the_audit_log(page: Any, server: LiveServer, client_id: str) -> None:
    await page.get_by_role("navigation", name="Admin console").get_by_role("link", name="Audit log").click()
    await page.select_option("#client", client_id)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Filter").click()
    events = await page.locator("table.audit tbody td:nth-child(2)").all_inner_texts()
    for expected in ("client.created", "consent.granted", "token.issued", "token.revoked"):
        assert expected in events, events
    await shot(page, f"{server.backend}-audit")


async def test_admin_registers_a_client_runs_it_and_revokes_its_token(
    server: LiveServer, page: Any, browser: Any
) -> None:
    app_name = f"Console App {secrets.token_hex(3)}"
    email, password = f"casey-{secrets.token_hex(4)}@example.com", "casey-password-1"

    await _admin_logs_in(page, server)
    await shot(page, f"{server.backend}-overview")
    # Control characters in filters and paths are nobody's data; PostgreSQL cannot even compare NUL.
    for path, status in (
        ("/admin/clients?q=%00", 200),
        ("/admin/tokens?client=%00&user=a%00b", 200),
        ("/admin/audit?event=%00&client=%00", 200),
        ("/admin/clients/%00x", 404),
        ("/login?switch=1&next=/oauth/authorize%3Fclient_id%3D%2500", 200),
    ):
        assert (await page.request.get(f"{server.url}{path}")).status == status, path
    client_id, secret = await _admin_registers_a_client(page, server, app_name)
    # The console's events say who made the change and from where.
    created = rows(
        server, "SELECT ip, detail FROM audit_events WHERE event = ? AND client_id = ?", "client.created", client_id
    )
    assert [(ip, (json.loads(detail) if isinstance(detail, str) else detail)["actor"]) for ip, detail in created] == [
        ("127.0.0.1", f"admin:{ADMIN_EMAIL}")
    ]
    trial = await _admin_builds_the_authorization_url(page, server)
    await _admin_creates_a_user(page, server, email, password)

    code = await _user_allows(browser, server, trial, app_name, email, password)
    access_token = await _client_exchanges_the_code(server, client_id, secret, code, trial["verifier"])
    assert (await _api_status(server, access_token))[:2] == (200, 200)

    await _admin_finds_and_revokes_the_token(page, server, client_id, email)
    userinfo, documents, challenge = await _api_status(server, access_token)
    assert (userinfo, documents) == (401, 401)
    assert 'error="invalid_token"' in challenge

    await _admin_reads_the_audit_log(page, server, client_id)


SECTIONS = (
    "Overview",
    "Clients",
    "Scopes",
    "Roles & permissions",
    "Users",
    "Login providers",
    "Tokens",
    "Audit log",
    "Keys",
    "Settings",
)


async def _seed(server: LiveServer) -> str:
    """Something in every table, so the screenshots show the pages in use."""
    async with ConsoleSession(server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        await console_user(admin, first_name="Sam")
        client_id, _ = await console_client(
            admin, f"Seeded App {secrets.token_hex(3)}", client_uri="https://seeded.example.com"
        )
        await admin.post(
            "/admin/scopes",
            {
                "name": f"note:read:{secrets.token_hex(2)}",
                "doctype": "Note",
                "actions": "read",
                "title": "See your notes",
                "description": "The notes you wrote or may read.",
                "intent": "add",
            },
        )
    return client_id


async def test_every_console_section_renders_for_the_admin_and_forbids_framing(
    sqlite_server: LiveServer, page: Any
) -> None:
    client_id = await _seed(sqlite_server)
    await page.goto(f"{sqlite_server.url}/login?next=/admin")
    await page.fill("#email", ADMIN_EMAIL)
    await page.fill("#password", ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await page.wait_for_url(f"{sqlite_server.url}/admin")
    navigation = page.get_by_role("navigation", name="Admin console")
    for section in SECTIONS:
        async with page.expect_response(lambda r: r.request.resource_type == "document") as loaded:
            await navigation.get_by_role("link", name=section, exact=True).click()
        response = await loaded.value
        assert response.status == 200, section
        assert FRAME_ANCESTORS in (await response.all_headers())["content-security-policy"]
        assert await navigation.locator("[aria-current=page]").inner_text() == section
        await shot(page, "section-" + section.lower().replace(" & ", "-").replace(" ", "-"))
    await navigation.get_by_role("link", name="Scopes", exact=True).click()
    await page.fill("#scope-name", "todo:write")
    await page.fill("#scope-title", "Change your to-dos")
    await page.fill("#scope-description", "Edit and close the to-dos you may change.")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Preview").click()
    preview = page.get_by_label("Consent screen preview")
    assert "Change your to-dos" in await preview.inner_text()
    await shot(page, "scope-preview")
    # Small screens: the same pages in a phone-sized window.
    await page.set_viewport_size({"width": 390, "height": 844})
    for path, name in ((f"/admin/clients/{client_id}", "phone-client"), ("/admin/tokens", "phone-tokens")):
        await page.goto(f"{sqlite_server.url}{path}")
        await shot(page, name)
