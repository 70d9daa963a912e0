"""The schema (migration 0003) and a whole login with role sync on every database backend."""

from __future__ import annotations

from typing import Any

from rp_support import connect_with_user, login_via, parallel, users_of

from support.server import LiveServer


async def test_login_and_role_sync_on_each_backend(server: LiveServer, idp: LiveServer, page: Any) -> None:
    listed = server.cli("role", "list").stdout.splitlines()
    existing = {line.split("\t")[0].removesuffix(" (built in)") for line in listed}
    parallel(*[(server.cli, "role", "add", role) for role in ("Editor", "Writer") if role not in existing])
    name, user = connect_with_user(
        server, idp, "--allow-signup", "--role-map", "Editor", "--role-map", "Auditor=Writer", roles=("Editor",)
    )
    assert await login_via(page, server, name, user) == 303
    assert users_of(server)[user["email"]]["roles"] == ["Editor"]
    idp.cli("user", "roles", user["email"], "--remove", "Editor", "--add", "Auditor")
    assert await login_via(page, server, name, user) == 303
    assert users_of(server)[user["email"]]["roles"] == ["Writer"]
    assert name in server.cli("provider", "list").stdout
