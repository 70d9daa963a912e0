"""Document types, role permissions and document scopes in the console, down to the consent screen's words."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from console_support import console_client

from support.console import ConsoleSession
from support.html import page_text
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT_URI, LiveServer


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


def _checked_actions(page: str, role: str) -> list[str]:
    return re.findall(r'name="actions" value="(\w+)" checked\s+aria-label="' + re.escape(role) + " may", page)


async def test_admin_defines_a_document_type_and_sets_role_permissions(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    role, name = f"Editors {secrets.token_hex(3)}", f"Article {secrets.token_hex(3)}"
    await admin.post("/admin/roles", {"name": role})
    bad = await admin.post("/admin/doctypes", {"name": name, "fields": "title"})
    assert bad.status_code == 400
    assert "'title': give a field as name:Type" in page_text(bad.text)
    created = await admin.post(
        "/admin/doctypes",
        {
            "name": name,
            "description": "A published text",
            "fields": "title:Data:required\nstatus:Select:Draft:Published:default=Draft\n",
        },
    )
    path = f"/admin/doctypes/{quote(name)}"
    assert created.headers["location"] == f"{path}?notice=created"
    page = page_text((await admin.get(path)).text)
    assert "title Title Data yes" in page and "status Status Select Draft Draft, Published" in page

    saved = await admin.post(
        f"{path}/permissions", [("role", role), ("if_owner", ""), ("actions", "read"), ("actions", "write")]
    )
    assert saved.headers["location"] == f"{path}?notice=saved"
    assert _checked_actions((await admin.get(path)).text, role) == ["read", "write"]
    assert f"{name}\t{role}\tread write" in sqlite_server.cli("permission", "list", name).stdout
    assert f"{name}: read/write" in page_text((await admin.get("/admin/roles")).text)

    await admin.post(f"{path}/permissions", [("role", role), ("if_owner", "")])  # no action: the row goes
    assert _checked_actions((await admin.get(path)).text, role) == []

    confirm = await admin.get(f"{path}/delete")
    assert f"Delete the document type {name}?" in page_text(confirm.text)
    deleted = await admin.post(f"{path}/delete")
    assert deleted.headers["location"] == "/admin/roles?notice=deleted"
    assert (await admin.get(path)).status_code == 404


async def test_document_scope_preview_matches_the_consent_screen(admin: ConsoleSession) -> None:
    name = f"todo:read:{secrets.token_hex(3)}"
    scope = {
        "name": name,
        "doctype": "ToDo",
        "actions": "read",
        "title": "See your to-dos",
        "description": "Titles, due dates and status of the to-dos you can see.",
    }
    preview = await admin.post("/admin/scopes", {**scope, "intent": "preview"})
    assert preview.status_code == 200
    preview_text = page_text(preview.text)
    assert "Consent screen preview" in preview_text
    assert "See your to-dos new Titles, due dates and status of the to-dos you can see." in preview_text
    assert name not in page_text((await admin.get("/admin/scopes")).text)  # a preview saves nothing

    added = await admin.post("/admin/scopes", {**scope, "intent": "add"})
    assert added.headers["location"] == "/admin/scopes?notice=created"
    assert name in page_text((await admin.get("/admin/scopes")).text)

    # A client registered for it shows the same words on the real consent screen.
    client_id, _ = await console_client(admin, f"Todo Reader {secrets.token_hex(3)}", scopes=("openid", name))
    consent = await admin.get(
        "/oauth/authorize?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": f"openid {name}",
                "state": "s",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            }
        )
    )
    assert consent.status_code == 200
    assert "See your to-dos new Titles, due dates and status of the to-dos you can see." in page_text(consent.text)

    duplicate = await admin.post("/admin/scopes", {**scope, "intent": "add"})
    assert duplicate.status_code == 409
    assert "already exists" in page_text(duplicate.text)
    deleted = await admin.post("/admin/scopes/delete", {"name": name})
    assert deleted.headers["location"] == "/admin/scopes?notice=deleted"
    assert name not in page_text((await admin.get("/admin/scopes")).text)


async def test_a_document_scope_without_a_title_is_refused_with_the_reason(admin: ConsoleSession) -> None:
    response = await admin.post(
        "/admin/scopes", {"name": "note:x", "doctype": "Note", "actions": "read", "title": "", "intent": "add"}
    )
    assert response.status_code == 400
    assert "Give the scope a title: the consent screen shows it to users" in page_text(response.text)
    nothing = await admin.post("/admin/scopes", {"name": "note:x", "doctype": "Note", "title": "T", "intent": "add"})
    assert "Tick at least one action: read, write, create or delete" in page_text(nothing.text)
