"""A device client made where admins make clients: the console's form offers the device grant in words, and
a public client made there (no redirect URI, no secret) gets its codes; `gatepass client add` takes the
grant's URN (the other device tests make their clients that way)."""

from __future__ import annotations

import secrets

import httpx
from device_support import DEVICE_GRANT, DeviceClient

from support.console import ConsoleSession, client_form
from support.html import page_text, values_by_id
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer


async def test_a_public_device_client_made_in_the_console_gets_its_codes(
    sqlite_server: LiveServer, http: httpx.AsyncClient
) -> None:
    app_name = f"Console TV {secrets.token_hex(3)}"
    async with ConsoleSession(sqlite_server) as session:
        admin = await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        blank = (await admin.get("/admin/clients/new")).text
        assert f"Devices without a browser: the user types a code on /device <code>{DEVICE_GRANT}</code>" in blank
        form = client_form(
            app_name,
            client_type="public",
            token_endpoint_auth_method="none",
            redirect_uris="",
            grant_types=(DEVICE_GRANT,),
            response_types=(),
            scopes=("openid", "profile"),
        )
        created = await admin.post("/admin/clients/new", form)
        assert created.status_code == 303, page_text(created.text)[:300]
        shown = values_by_id((await admin.get(created.headers["location"])).text)
    assert "client-secret" not in shown
    codes = await DeviceClient(http, sqlite_server.url, {"client_id": shown["client-id"]}).codes("openid")
    assert codes["verification_uri"] == f"{sqlite_server.url}/device"
