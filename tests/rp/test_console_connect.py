"""Social login set up in the console alone: an admin connects two Gatepass servers in Chromium by pasting an
issuer URL, a client id and a secret, and a user with a role on the first logs into the second with it.

The app server runs on every backend; the identity provider is the shared SQLite one.
"""

from __future__ import annotations

from typing import Any

import pytest
from rp_support import idp_user, login_via, parallel, register_client, unique, users_of

from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer


def _ensure_roles(server: LiveServer, *roles: str) -> None:
    listed = server.cli("role", "list").stdout.splitlines()
    existing = {line.split("\t")[0].removesuffix(" (built in)") for line in listed}
    parallel(*[(server.cli, "role", "add", role) for role in roles if role not in existing])


async def _check_result(page: Any) -> str:
    async with page.expect_navigation():
        await page.get_by_role("button", name="Check", exact=True).click()
    return " ".join((await page.get_by_role("region", name="Check").inner_text()).split())


@pytest.mark.browser
async def test_admin_connects_two_gatepass_servers_in_the_console_and_the_mapped_role_follows(
    server: LiveServer, idp: LiveServer, page: Any
) -> None:
    _ensure_roles(server, "Editor")
    name = unique("console")
    await page.goto(f"{server.url}/login?next=/admin/providers")
    await page.fill("#email", ADMIN_EMAIL)
    await page.fill("#password", ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await page.wait_for_url(f"{server.url}/admin/providers")
    await page.get_by_role("link", name="New provider").click()
    await page.fill("#name", name)
    await page.check("#preset-gatepass")
    await page.get_by_role("button", name="Continue").click()

    # The callback URL the console shows is the redirect URI registered at the IdP.
    callback = await page.input_value("#callback-url")
    assert callback == f"{server.url}/login/{name}/callback"
    client, user = parallel((register_client, idp, callback), (idp_user, idp, "Editor", "Reviewer"))
    await page.fill("#display_name", f"IdP {name}")
    await page.fill("#issuer", idp.url)
    await page.fill("#client_id", client["client_id"])
    await page.fill("#client_secret", client["client_secret"])
    await page.fill("#role_map", "Editor")
    await page.check("input[name=allow_signup]")
    await page.get_by_role("button", name="Add provider").click()
    await page.wait_for_url(f"{server.url}/admin/providers/{name}?notice=created")
    assert await page.input_value("#callback-url") == callback
    assert client["client_secret"] not in await page.content()

    checked = await _check_result(page)
    assert "No check failed." in checked
    assert "authorization request the provider accepts the client id, the callback URL and the scopes" in checked
    assert "client secret accepted (the made-up test code was refused, as it should be)" in checked

    # Saving with the secret field blank keeps the secret: the check still passes with it.
    await page.fill("#display_name", f"IdP {name}")
    await page.get_by_role("button", name="Save changes").click()
    await page.wait_for_url(f"{server.url}/admin/providers/{name}?notice=saved")
    assert "client secret accepted" in await _check_result(page)

    # The user logs into the app server through the IdP; of the IdP's roles only the mapped one arrives.
    assert await login_via(page, server, name, user) == 303
    assert page.url == f"{server.url}/"
    assert users_of(server)[user["email"]]["roles"] == ["Editor"]
