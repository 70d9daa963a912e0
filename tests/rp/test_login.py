"""The whole "Log in with …" in headless Chromium, between two Gatepass servers on loopback."""

from __future__ import annotations

from typing import Any

import httpx
from rp_support import (
    audit_details,
    connect,
    connect_with_user,
    is_logged_in_on,
    login_via,
    parallel,
    roles_on,
    users_of,
)

from support.rows import rows
from support.server import LiveServer


async def test_login_page_offers_each_enabled_provider(app: LiveServer, idp: LiveServer) -> None:
    shown = connect(app, idp)
    hidden = connect(app, idp, "--disable")
    page = httpx.get(f"{app.url}/login?next=/account").text
    assert f"Log in with IdP {shown}" in page
    assert f'action="/login/{shown}/start"' in page
    assert f"IdP {hidden}" not in page


async def test_first_login_creates_the_user_with_default_and_mapped_roles(
    app: LiveServer, idp: LiveServer, page: Any
) -> None:
    name, user = connect_with_user(
        app,
        idp,
        "--allow-signup",
        "--default-role",
        "Member",
        "--role-map",
        "Editor",
        "--role-map",
        "Auditor=Reviewer",
        roles=(
            "Editor",
            "Auditor",
        ),
    )
    await login_via(page, app, name, user)
    assert page.url == f"{app.url}/"
    assert user["email"] in await page.content()
    created = users_of(app)[user["email"]]
    assert created["roles"] == ["Editor", "Member", "Reviewer"]
    assert created["first_name"] == "Ada"
    assert created["last_name"] == "Lovelace"
    linked = audit_details(app, "identity.linked")
    assert {"provider": name, "matched_by": "signup"} in linked
    identities = rows(
        app,
        "SELECT i.subject FROM external_identities i JOIN login_providers p ON p.id = i.provider_id WHERE p.name = ?",
        name,
    )
    assert identities == [(user["sub"],)]


async def test_role_granted_upstream_appears_and_revoked_disappears_in_replace_mode(
    app: LiveServer, idp: LiveServer, page: Any
) -> None:
    name, user = connect_with_user(app, idp, "--allow-signup", "--role-map", "Editor", "--role-sync", "replace")
    await login_via(page, app, name, user)
    assert roles_on(app, user["email"]) == []
    # A role given locally, that the map does not name, is not the provider's to take away.
    parallel(
        (idp.cli, "user", "roles", user["email"], "--add", "Editor"),
        (app.cli, "user", "roles", user["email"], "--add", "Local Only"),
    )
    await login_via(page, app, name, user)
    assert roles_on(app, user["email"]) == ["Editor", "Local Only"]
    idp.cli("user", "roles", user["email"], "--remove", "Editor")
    await login_via(page, app, name, user)
    assert roles_on(app, user["email"]) == ["Local Only"]
    synced = [d for d in audit_details(app, "user.roles_synced") if d["provider"] == name]
    assert [(d["added"], d["removed"], d["mode"]) for d in synced] == [
        (["Editor"], [], "replace"),
        ([], ["Editor"], "replace"),
    ]


async def test_merge_mode_adds_roles_and_never_removes_them(app: LiveServer, idp: LiveServer, page: Any) -> None:
    name, user = connect_with_user(
        app,
        idp,
        "--allow-signup",
        "--role-map",
        "Editor",
        "--role-map",
        "Auditor=Writer",
        "--role-sync",
        "merge",
        roles=("Editor",),
    )
    await login_via(page, app, name, user)
    assert roles_on(app, user["email"]) == ["Editor"]
    idp.cli("user", "roles", user["email"], "--remove", "Editor", "--add", "Auditor")
    await login_via(page, app, name, user)
    assert roles_on(app, user["email"]) == ["Editor", "Writer"]


async def test_unmapped_remote_roles_are_ignored(app: LiveServer, idp: LiveServer, page: Any) -> None:
    # The IdP's Reviewer exists on the app too, but only mapped roles ever cross over.
    name, user = connect_with_user(app, idp, "--allow-signup", "--role-map", "Editor", roles=("Reviewer",))
    await login_via(page, app, name, user)
    assert roles_on(app, user["email"]) == []


async def test_existing_local_user_is_matched_by_verified_email(app: LiveServer, idp: LiveServer, page: Any) -> None:
    name, user = connect_with_user(app, idp, "--no-allow-signup", "--role-map", "Editor", roles=("Editor",))
    local = app.create_user(user["email"], roles=("Writer",))
    await login_via(page, app, name, user)
    assert page.url == f"{app.url}/"
    matched = users_of(app)[user["email"]]
    assert matched["sub"] == local["sub"]
    assert matched["roles"] == ["Editor", "Writer"]
    assert {"provider": name, "matched_by": "verified_email"} in audit_details(app, "identity.linked")


async def test_sign_up_off_shows_a_page_that_says_who_can_fix_it(app: LiveServer, idp: LiveServer, page: Any) -> None:
    name, user = connect_with_user(app, idp, "--no-allow-signup")
    await login_via(page, app, name, user)
    assert page.url.startswith(f"{app.url}/login/{name}/callback")
    text = await page.inner_text("main")
    assert "There is no account for you here yet" in text
    assert f"new accounts through IdP {name} are turned off" in text
    assert f"gatepass provider update {name} --allow-signup" in text
    assert roles_on(app, user["email"]) is None


async def test_disabled_local_user_is_refused(app: LiveServer, idp: LiveServer, page: Any) -> None:
    name, user = connect_with_user(app, idp, "--allow-signup")
    app.create_user(user["email"])
    app.cli("user", "disable", user["email"])
    await login_via(page, app, name, user)
    assert "Your account is disabled" in await page.inner_text("main")
    assert not await is_logged_in_on(page, app)


async def test_linked_user_disabled_later_is_refused(app: LiveServer, idp: LiveServer, page: Any) -> None:
    name, user = connect_with_user(app, idp, "--allow-signup")
    await login_via(page, app, name, user)
    assert page.url == f"{app.url}/"
    app.cli("user", "disable", user["email"])
    await login_via(page, app, name, user)
    assert "Your account is disabled" in await page.inner_text("main")
