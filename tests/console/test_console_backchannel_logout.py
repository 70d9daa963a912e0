"""The console's client form sets a back-channel logout URI: kept through an edit, unset when blanked, and a
URI that logout tokens must not go to is refused on its field."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from console_support import console_client, shown_client

from support.console import ConsoleSession, client_form
from support.html import page_text, values_by_id
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

LOGOUT_URI = "https://app.example.com/backchannel-logout"


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


async def test_a_logout_uri_is_kept_through_an_edit_and_unset_when_blanked(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    app_name = f"Told of logouts {secrets.token_hex(3)}"
    settings = {"backchannel_logout_uri": LOGOUT_URI, "backchannel_logout_session_required": "1"}
    client_id, _ = await console_client(admin, app_name, **settings)
    shown = shown_client(sqlite_server, client_id)
    assert (shown["backchannel_logout_uri"], shown["backchannel_logout_session_required"]) == (LOGOUT_URI, True)
    page = await admin.get(f"/admin/clients/{client_id}")
    assert values_by_id(page.text)["backchannel_logout_uri"] == LOGOUT_URI
    saved = await admin.post(f"/admin/clients/{client_id}", client_form(app_name, **settings))
    assert saved.status_code == 303, page_text(saved.text)[:300]
    assert shown_client(sqlite_server, client_id)["backchannel_logout_uri"] == LOGOUT_URI
    blanked = await admin.post(f"/admin/clients/{client_id}", client_form(app_name, backchannel_logout_uri=""))
    assert blanked.status_code == 303, page_text(blanked.text)[:300]
    assert "backchannel_logout_uri" not in shown_client(sqlite_server, client_id)


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("http://app.example.com/logout", "must be an absolute https URL (http only for localhost)"),
        ("https://app.example.com/logout#done", "must not have a fragment"),
        ("/logout", "must be an absolute https URL"),
    ],
    ids=["http-elsewhere", "fragment", "relative"],
)
async def test_a_logout_uri_tokens_must_not_go_to_is_refused_on_its_field(
    admin: ConsoleSession, uri: str, says: str
) -> None:
    response = await admin.post(
        "/admin/clients/new", client_form(f"Bad logout {secrets.token_hex(3)}", backchannel_logout_uri=uri)
    )
    assert response.status_code == 400, response.status_code
    assert says in page_text(response.text)
    assert 'id="backchannel_logout_uri" name="backchannel_logout_uri"' in response.text
    assert 'aria-invalid="true"' in response.text.split('id="backchannel_logout_uri"', 1)[1].split(">", 1)[0]
