"""The console's client form sets a client's subject type (OpenID Connect Core §8): a pairwise client gets
the sector of its redirect URIs, shows its choice again on the edit page and keeps it through a save; redirect
URIs on several hosts without a sector identifier URI are refused on the form."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from console_support import console_client, shown_client

from support.console import ConsoleSession, client_form
from support.html import page_text, values_by_id
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

SURVEY = "https://survey.example.com/callback"


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


async def test_a_pairwise_client_keeps_its_subject_type_through_an_edit(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    app_name = f"Pairwise {secrets.token_hex(3)}"
    client_id, _ = await console_client(admin, app_name, redirect_uris=SURVEY, subject_type="pairwise")
    shown = shown_client(sqlite_server, client_id)
    assert (shown["subject_type"], shown["pairwise_sector"]) == ("pairwise", "survey.example.com")
    page = await admin.get(f"/admin/clients/{client_id}")
    assert '<option value="pairwise" selected>' in page.text
    assert values_by_id(page.text)["sector_identifier_uri"] == ""
    saved = await admin.post(
        f"/admin/clients/{client_id}", client_form(f"{app_name} v2", redirect_uris=SURVEY, subject_type="pairwise")
    )
    assert saved.status_code == 303, page_text(saved.text)[:300]
    again = shown_client(sqlite_server, client_id)
    assert (again["app_name"], again["subject_type"], again["pairwise_sector"]) == (
        f"{app_name} v2",
        "pairwise",
        "survey.example.com",
    )


async def test_redirect_uris_on_several_hosts_are_refused_on_the_form(admin: ConsoleSession) -> None:
    response = await admin.post(
        "/admin/clients/new",
        client_form(
            f"Two hosts {secrets.token_hex(3)}",
            redirect_uris=f"{SURVEY}\nhttps://eu.survey.example.net/callback",
            subject_type="pairwise",
        ),
    )
    assert response.status_code == 400, response.status_code
    assert "a pairwise client with them needs a sector_identifier_uri" in page_text(response.text)
    assert '<fieldset class="invalid">\n  <legend>Who it sees users as</legend>' in response.text
