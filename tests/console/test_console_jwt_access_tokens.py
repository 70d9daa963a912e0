"""The console's client form sets the access token format (RFC 9068 JWT, opaque, or the server's default):
kept through an edit, back to the default when blanked, and a format Gatepass does not know refused on its field."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from console_support import console_client, shown_client

from support.console import ConsoleSession, client_form
from support.html import page_text
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


async def test_the_format_is_kept_through_an_edit_and_back_to_the_default_when_blanked(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    app_name = f"Signed tokens {secrets.token_hex(3)}"
    client_id, _ = await console_client(admin, app_name, access_token_format="jwt")
    assert shown_client(sqlite_server, client_id)["access_token_format"] == "jwt"
    page = await admin.get(f"/admin/clients/{client_id}")
    assert '<option value="jwt" selected>' in page.text

    saved = await admin.post(f"/admin/clients/{client_id}", client_form(app_name, access_token_format="jwt"))
    assert saved.status_code == 303, page_text(saved.text)[:300]
    assert shown_client(sqlite_server, client_id)["access_token_format"] == "jwt"
    blanked = await admin.post(f"/admin/clients/{client_id}", client_form(app_name, access_token_format=""))
    assert blanked.status_code == 303, page_text(blanked.text)[:300]
    assert shown_client(sqlite_server, client_id)["access_token_format"] is None


async def test_a_client_set_to_jwt_in_the_console_gets_a_jwt(sqlite_server: LiveServer, admin: ConsoleSession) -> None:
    robot = sqlite_server.create_user()
    client_id, secret = await console_client(
        admin,
        f"Signed service {secrets.token_hex(3)}",
        access_token_format="jwt",
        grant_types=("client_credentials",),
        response_types=None,
        redirect_uris="",
        scopes=("all",),
        service_user_email=robot["email"],
    )
    assert secret is not None
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{sqlite_server.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"].count(".") == 2


async def test_a_format_gatepass_does_not_know_is_refused_on_its_field(admin: ConsoleSession) -> None:
    response = await admin.post(
        "/admin/clients/new", client_form(f"Odd tokens {secrets.token_hex(3)}", access_token_format="paseto")
    )
    assert response.status_code == 400, response.status_code
    assert "The access token format must be one of opaque, jwt" in page_text(response.text)
    assert '<fieldset class="invalid">\n  <legend>Tokens</legend>' in response.text
