"""The user and role pages over HTTP: create, roles, password reset, disable/enable, API keys, live tokens."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from console_support import console_user, user_id_of

from support.console import ConsoleSession
from support.html import page_text, values_by_id
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


async def _can_log_in(server: LiveServer, email: str, password: str) -> bool:
    async with ConsoleSession(server) as session:
        page = await session.http.get("/login")
        response = await session.http.post(
            "/login", data={"csrf_token": session.csrf_in(page.text), "email": email, "password": password, "next": "/"}
        )
        return response.status_code == 303


async def test_admin_creates_a_user_gives_roles_and_resets_the_password(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    role = f"Sales {secrets.token_hex(3)}"
    added = await admin.post("/admin/roles", {"name": role, "description": "Sells things"})
    assert added.headers["location"] == "/admin/roles?notice=created"
    assert role in page_text((await admin.get("/admin/roles")).text)

    user = await console_user(admin, roles=(role,), first_name="Morgan")
    page = page_text((await admin.get(f"/admin/users/{user['id']}")).text)
    assert "Morgan User" in page and user["email"] in page
    assert role in page_text((await admin.get("/admin/users", q=user["email"])).text)
    assert await _can_log_in(sqlite_server, user["email"], user["password"])

    await admin.post(f"/admin/users/{user['id']}/roles", [("roles", role), ("roles", "System Manager")])
    assert sqlite_server.cli("user", "roles", user["email"]).stdout.split("\n")[:2] == sorted([role, "System Manager"])

    too_short = await admin.post(f"/admin/users/{user['id']}/password", {"password": "short"})
    assert too_short.status_code == 400
    assert "The password must have at least 8 characters" in page_text(too_short.text)
    changed = await admin.post(f"/admin/users/{user['id']}/password", {"password": "a-brand-new-password"})
    assert changed.headers["location"] == f"/admin/users/{user['id']}?notice=password"
    assert not await _can_log_in(sqlite_server, user["email"], user["password"])
    assert await _can_log_in(sqlite_server, user["email"], "a-brand-new-password")


async def test_creating_a_user_with_a_taken_email_says_so(admin: ConsoleSession) -> None:
    response = await admin.post("/admin/users", {"email": ADMIN_EMAIL, "password": "whatever-password"})
    assert response.status_code == 409
    assert f"A user with email {ADMIN_EMAIL} already exists" in page_text(response.text)
    bad = await admin.post("/admin/users", {"email": "not-an-email", "first_name": "Kept"})
    assert bad.status_code == 400
    assert "'not-an-email' is not an email address" in page_text(bad.text)
    assert values_by_id(bad.text)["new-first"] == "Kept"


async def test_a_disabled_user_cannot_log_in_and_loses_every_token(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    user = await console_user(admin)
    api = await admin.post(f"/admin/users/{user['id']}/api-key")
    fields = values_by_id(api.text)
    credentials = {"Authorization": f"token {fields['api-key']}:{fields['api-secret']}"}
    assert "shown only this once" in page_text(api.text)
    async with httpx.AsyncClient(base_url=sqlite_server.url, timeout=30) as http:
        assert (await http.get("/api/resource/ToDo", headers=credentials)).status_code == 200

        disabled = await admin.post(f"/admin/users/{user['id']}/enabled", {"enabled": "0"})
        assert disabled.headers["location"] == f"/admin/users/{user['id']}?notice=disabled"
        assert "disabled" in page_text((await admin.get("/admin/users", q=user["email"])).text)
        assert not await _can_log_in(sqlite_server, user["email"], user["password"])
        assert (await http.get("/api/resource/ToDo", headers=credentials)).status_code == 401

        await admin.post(f"/admin/users/{user['id']}/enabled", {"enabled": "1"})
        assert await _can_log_in(sqlite_server, user["email"], user["password"])


async def test_an_admin_cannot_lock_themselves_out(admin: ConsoleSession) -> None:
    admin_id = await user_id_of(admin, ADMIN_EMAIL)
    refused = await admin.post(f"/admin/users/{admin_id}/enabled", {"enabled": "0"})
    assert refused.status_code == 400
    assert "You cannot disable yourself." in page_text(refused.text)
    demoted = await admin.post(f"/admin/users/{admin_id}/roles", [("roles", "All")])
    assert demoted.status_code == 400
    assert "You cannot take System Manager away from yourself" in page_text(demoted.text)
    assert (await admin.get("/admin")).status_code == 200
