"""The login provider pages: two-step add, clear errors, the secret never shown, edit, disable,
delete, the Check button, CSRF, and the startup warning for providers that trust unverified emails.

The whole two-server login through a provider added in the console is in tests/rp/test_console_connect.py.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_support import shot

from support.console import ConsoleSession, log_in_page
from support.html import page_text, values_by_id
from support.logs import LogWindow
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, free_port

SECRET = "console-secret-never-shown-4711"


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


def _name(prefix: str = "console") -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def provider_form(name: str, **overrides: Any) -> list[tuple[str, str]]:
    """The second step's form as the page submits it; tuples are repeated fields, None leaves a field out."""
    values: dict[str, Any] = {
        "name": name,
        "preset": "gatepass",
        "display_name": f"Provider {name}",
        "issuer": "https://id.example.com",
        "client_id": "console-client",
        "client_secret": SECRET,
        "scopes": "openid profile email roles",
        "role_map": "",
        "role_sync": "replace",
        "is_enabled": "1",
    }
    values.update(overrides)
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        if isinstance(value, tuple):
            pairs.extend((key, item) for item in value)
        elif value is not None:
            pairs.append((key, str(value)))
    return pairs


async def add(admin: ConsoleSession, name: str, **overrides: Any) -> httpx.Response:
    response = await admin.post("/admin/providers/new", provider_form(name, **overrides))
    assert response.status_code == 303, page_text(response.text)[:400]
    assert response.headers["location"] == f"/admin/providers/{name}?notice=created"
    return response


def shown(server: LiveServer, name: str) -> dict[str, Any] | None:
    result = server.cli("provider", "show", name, "--json", check=False)
    if result.returncode != 0:
        return None
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def stored_secret(server: LiveServer, name: str) -> str | None:
    with sqlite3.connect(Path(server.var_dir) / "gatepass.db") as connection:
        row = connection.execute(
            "SELECT client_secret_encrypted FROM login_providers WHERE name = ?", (name,)
        ).fetchone()
    assert row is not None
    value: str | None = row[0]
    return value


def field_error(page: str, field: str) -> str:
    """The message shown beside a field (the element the field's aria-describedby names)."""
    found = re.search(rf'id="{field}-error">([^<]*)<', page)
    assert found is not None, f"no message beside {field}: {page_text(page)[:400]}"
    return page_text(found.group(1))


def is_checked(page: str, name: str) -> bool:
    found = re.search(rf'<input type="checkbox" name="{name}" value="1" ?(checked)?>', page)
    assert found is not None, f"no {name} box"
    return found.group(1) is not None


def ensure_roles(server: LiveServer, *roles: str) -> None:
    """Local roles the role map and default roles name (they must exist), made once per server."""
    listed = server.cli("role", "list").stdout.splitlines()
    existing = {line.split("\t")[0].removesuffix(" (built in)") for line in listed}
    for role in roles:
        if role not in existing:
            server.cli("role", "add", role)


async def audit_text(admin: ConsoleSession, event: str) -> str:
    return page_text((await admin.get("/admin/audit", event=event)).text)


async def login_page_offers(server: LiveServer, display_name: str) -> bool:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        return f"Log in with {display_name}<" in (await http.get("/login")).text


# -- adding ---------------------------------------------------------------------------------


async def test_adding_asks_for_name_and_preset_first_then_shows_the_callback_url(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    start = await admin.get("/admin/providers/new")
    assert start.status_code == 200
    assert [value for value in re.findall(r'name="preset" value="([a-z]+)"', start.text)] == [
        "gatepass",
        "oidc",
        "frappe",
        "google",
        "github",
    ]
    name = _name("google")
    google = await admin.get("/admin/providers/new", name=name, preset="google")
    assert google.status_code == 200
    fields = values_by_id(google.text)
    assert fields["callback-url"] == f"{sqlite_server.url}/login/{name}/callback"
    assert (fields["issuer"], fields["scopes"], fields["display_name"]) == (
        "https://accounts.google.com",
        "openid profile email",
        "Google",
    )
    assert 'id="issuer" name="issuer" type="text" readonly' in google.text
    assert "register this exact redirect URI at the provider" in page_text(google.text)
    frappe = await admin.get("/admin/providers/new", name=_name("frappe"), preset="frappe")
    assert is_checked(frappe.text, "allow_unverified_email")
    assert values_by_id(frappe.text)["scopes"] == "openid all"
    gatepass = await admin.get("/admin/providers/new", name=_name(), preset="gatepass")
    assert not is_checked(gatepass.text, "allow_unverified_email")
    assert is_checked(gatepass.text, "is_enabled")


@pytest.mark.parametrize(
    ("name", "preset", "message"),
    [
        ("Has Spaces", "gatepass", "The provider name 'has spaces' must be 1-64 lower-case letters, digits, - or _"),
        ("new", "gatepass", "The provider name 'new' is reserved; choose another"),
        ("", "gatepass", "The provider name '' must be 1-64 lower-case letters"),
    ],
    ids=["spaces", "reserved", "blank"],
)
async def test_first_step_refuses_a_bad_name_beside_the_field(
    admin: ConsoleSession, name: str, preset: str, message: str
) -> None:
    response = await admin.get("/admin/providers/new", name=name, preset=preset)
    assert response.status_code == 400
    assert field_error(response.text, "name").startswith(message)
    assert values_by_id(response.text)["name"] == name
    assert "Nothing was saved: correct the field marked below." in page_text(response.text)


async def test_first_step_refuses_a_name_in_use_and_an_unknown_preset(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    name = _name()
    await add(admin, name)
    taken = await admin.get("/admin/providers/new", name=name, preset="google")
    assert taken.status_code == 400
    assert field_error(taken.text, "name") == f"A provider is named '{name}' already: choose another name"
    unknown = await admin.get("/admin/providers/new", name=_name(), preset="okta")
    assert unknown.status_code == 400
    assert "Choose one of the kinds of provider: gatepass, oidc, frappe, google, github" in page_text(unknown.text)
    # A second add of the same name (two tabs) re-renders the form instead of an error page.
    again = await admin.post("/admin/providers/new", provider_form(name))
    assert again.status_code == 400
    assert field_error(again.text, "name") == f"A provider named '{name}' already exists: choose another name"


async def test_every_provider_field_is_set_on_create_and_changed_on_edit(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    name = _name()
    ensure_roles(sqlite_server, "Member", "Editor")
    await add(
        admin,
        name,
        display_name="Head Office",
        issuer="https://id.example.com/",
        client_id="head-office-app",
        scopes="openid email roles",
        role_map="Staff=Member\r\nEditor\r\n",
        role_sync="merge",
        allow_signup="1",
        default_roles=("Member",),
        allow_unverified_email="1",
        trust_amr="1",
        is_enabled="1",
    )
    assert shown(sqlite_server, name) == {
        "name": name,
        "display_name": "Head Office",
        "preset": "gatepass",
        "issuer": "https://id.example.com",
        "client_id": "head-office-app",
        "has_client_secret": True,
        "scopes": ["openid", "email", "roles"],
        "enabled": True,
        "allow_signup": True,
        "allow_unverified_email": True,
        "trust_amr": True,
        "default_roles": ["Member"],
        "role_map": {"Staff": "Member", "Editor": "Editor"},
        "role_sync": "merge",
        "callback_url": f"{sqlite_server.url}/login/{name}/callback",
    }
    created = await admin.get(f"/admin/providers/{name}", notice="created")
    assert "Created." in page_text(created.text)
    assert values_by_id(created.text)["role_map"] == "Staff=Member\nEditor=Editor"
    assert is_checked(created.text, "trust_amr")
    assert "Its amr trusted: its second factor counts here" in page_text(created.text)
    assert "Only for a provider you trust to report it honestly." in page_text(created.text)
    created_events = await audit_text(admin, "provider.created")
    assert name in created_events and "https://id.example.com" in created_events
    secret_before = stored_secret(sqlite_server, name)

    edited = await admin.post(
        f"/admin/providers/{name}",
        provider_form(
            name,
            display_name="Branch Office",
            issuer="https://branch.example.com",
            client_id="branch-app",
            client_secret="",
            scopes="openid profile",
            role_map="Boss=Editor",
            role_sync="off",
            is_enabled=None,
        ),
    )
    assert edited.status_code == 303
    assert edited.headers["location"] == f"/admin/providers/{name}?notice=saved"
    after = shown(sqlite_server, name)
    assert after is not None
    assert {key: after[key] for key in after if key != "callback_url"} == {
        "name": name,
        "display_name": "Branch Office",
        "preset": "gatepass",
        "issuer": "https://branch.example.com",
        "client_id": "branch-app",
        "has_client_secret": True,
        "scopes": ["openid", "profile"],
        "enabled": False,
        "allow_signup": False,
        "allow_unverified_email": False,
        "trust_amr": False,
        "default_roles": [],
        "role_map": {"Boss": "Editor"},
        "role_sync": "off",
    }
    # A blank secret on edit keeps the one stored, untouched.
    assert stored_secret(sqlite_server, name) == secret_before
    updated = await audit_text(admin, "provider.updated")
    assert name in updated and "client_id" in updated and "client_secret" not in updated
    new_secret = await admin.post(f"/admin/providers/{name}", provider_form(name, client_secret="another-secret"))
    assert new_secret.status_code == 303
    assert stored_secret(sqlite_server, name) not in (None, secret_before)
    removed = await admin.post(f"/admin/providers/{name}", provider_form(name, client_secret="", remove_secret="1"))
    assert removed.status_code == 303
    assert stored_secret(sqlite_server, name) is None
    final = await admin.get(f"/admin/providers/{name}")
    assert "none (public client)" in page_text(final.text)
    assert not is_checked(final.text, "trust_amr")
    assert "Its amr not trusted: the login is fed alone" in page_text(final.text)


async def test_trusting_the_providers_amr_is_ticked_and_unticked_on_its_page_in_chromium(
    sqlite_server: LiveServer, admin: ConsoleSession, page: Any
) -> None:
    name = _name()
    await add(admin, name)
    await page.goto(f"{sqlite_server.url}/login?next=/admin/providers/{name}")
    await log_in_page(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    trust = page.get_by_label("Trust how the provider says the user logged in (its amr)")
    assert not await trust.is_checked()
    await trust.check()
    await page.get_by_role("button", name="Save changes").click()
    await page.wait_for_url(f"{sqlite_server.url}/admin/providers/{name}?notice=saved")
    assert (shown(sqlite_server, name) or {})["trust_amr"] is True
    assert await trust.is_checked()
    await trust.uncheck()
    await page.get_by_role("button", name="Save changes").click()
    await page.wait_for_url(f"{sqlite_server.url}/admin/providers/{name}?notice=saved")
    assert (shown(sqlite_server, name) or {})["trust_amr"] is False
    assert "Its amr not trusted: the login is fed alone" in page_text(await page.content())


# -- mistakes ---------------------------------------------------------------------------------

MISTAKES = {
    "missing-client-id": (
        {"client_id": ""},
        "client_id",
        "Give the client id of the client registered for this server at the provider",
    ),
    "issuer-not-a-url": (
        {"issuer": "not a url"},
        "issuer",
        "The issuer 'not a url' must be an https URL without query or fragment",
    ),
    "issuer-plain-http": (
        {"issuer": "http://id.example.com"},
        "issuer",
        "The issuer 'http://id.example.com' must use https (http only for a loopback host)",
    ),
    "missing-issuer": (
        {"issuer": ""},
        "issuer",
        "Give the issuer URL: the provider's base URL, such as https://id.example.com",
    ),
    "no-openid-scope": (
        {"scopes": "email profile"},
        "scopes",
        "The gatepass preset is OpenID Connect: the scopes must include openid",
    ),
    "bad-role-map-line": (
        {"role_map": "Editor\r\n=Writer"},
        "role_map",
        "The role map line '=Writer': write REMOTE=LOCAL (or NAME for the same name)",
    ),
    "unknown-local-role": (
        {"role_map": "Staff=No Such Role"},
        "roles",
        "No local role is named 'No Such Role'; create it first with `gatepass role add`",
    ),
    "blank-display-name": ({"display_name": ""}, "display_name", "The display name must not be empty"),
}


@pytest.mark.parametrize(("overrides", "field", "message"), MISTAKES.values(), ids=MISTAKES.keys())
async def test_mistake_on_add_re_renders_the_form_with_the_message_beside_the_field(
    sqlite_server: LiveServer, admin: ConsoleSession, overrides: dict[str, str], field: str, message: str
) -> None:
    name = _name("bad")
    response = await admin.post("/admin/providers/new", provider_form(name, allow_signup="1", **overrides))
    assert response.status_code == 400
    assert field_error(response.text, field) == message
    assert f'aria-describedby="{field}-error"' in response.text or field == "roles"
    typed = values_by_id(response.text)
    for key in ("display_name", "issuer", "client_id", "scopes", "role_map"):
        expected = dict(provider_form(name, **overrides))[key]
        assert typed[key].replace("\r\n", "\n").strip() == expected.replace("\r\n", "\n").strip(), key
    assert is_checked(response.text, "allow_signup")
    assert typed["callback-url"] == f"{sqlite_server.url}/login/{name}/callback"
    # What was typed stays, except the secret.
    assert typed["client_secret"] == ""
    assert SECRET not in response.text
    assert shown(sqlite_server, name) is None


async def test_mistake_on_edit_re_renders_and_changes_nothing(sqlite_server: LiveServer, admin: ConsoleSession) -> None:
    name = _name()
    await add(admin, name)
    before = shown(sqlite_server, name)
    response = await admin.post(
        f"/admin/providers/{name}", provider_form(name, issuer="not a url", display_name="Renamed", client_secret="x")
    )
    assert response.status_code == 400
    assert (
        field_error(response.text, "issuer") == "The issuer 'not a url' must be an https URL without query or fragment"
    )
    fields = values_by_id(response.text)
    assert (fields["issuer"], fields["display_name"], fields["client_secret"]) == ("not a url", "Renamed", "")
    assert shown(sqlite_server, name) == before


async def test_client_secret_is_never_rendered_back(sqlite_server: LiveServer, admin: ConsoleSession) -> None:
    name = _name()
    await add(admin, name)
    pages = [
        await admin.get("/admin/providers"),
        await admin.get(f"/admin/providers/{name}"),
        await admin.get(f"/admin/providers/{name}/delete"),
        await admin.post(f"/admin/providers/{name}", provider_form(name, client_id="")),
        await admin.post("/admin/providers/new", provider_form(_name(), issuer="not a url")),
    ]
    for response in pages:
        assert SECRET not in response.text, response.url
    provider_page = pages[1].text
    assert values_by_id(provider_page)["client_secret"] == ""
    assert 'id="client_secret" name="client_secret" type="password" value=""' in provider_page
    assert "set (kept encrypted)" in page_text(provider_page)
    stored = stored_secret(sqlite_server, name)
    assert stored and SECRET not in stored


# -- enable, disable, delete ------------------------------------------------------------------


async def test_disabled_provider_leaves_the_login_page_and_delete_removes_it(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    name = _name()
    await add(admin, name)
    display_name = f"Provider {name}"
    assert await login_page_offers(sqlite_server, display_name)
    listing = page_text((await admin.get("/admin/providers")).text)
    assert f"{name} {display_name} gatepass https://id.example.com replace enabled" in listing

    disabled = await admin.post(f"/admin/providers/{name}/enabled", {"enabled": "0"})
    assert disabled.headers["location"] == f"/admin/providers/{name}?notice=provider_disabled"
    assert "Disabled. The login page no longer offers it" in page_text(
        (await admin.get(disabled.headers["location"])).text
    )
    assert not await login_page_offers(sqlite_server, display_name)
    async with httpx.AsyncClient(base_url=sqlite_server.url, timeout=30) as http:
        assert (await http.get(f"/login/{name}/start")).status_code == 404
    assert f"{name} {display_name} gatepass https://id.example.com replace disabled" in page_text(
        (await admin.get("/admin/providers")).text
    )
    enabled = await admin.post(f"/admin/providers/{name}/enabled", {"enabled": "1"})
    assert enabled.headers["location"] == f"/admin/providers/{name}?notice=enabled"
    assert await login_page_offers(sqlite_server, display_name)

    confirm = await admin.get(f"/admin/providers/{name}/delete")
    assert confirm.status_code == 200
    assert f"This removes the login provider {name} and the links of users to it" in page_text(confirm.text)
    deleted = await admin.post(f"/admin/providers/{name}/delete")
    assert deleted.headers["location"] == "/admin/providers?notice=deleted"
    assert name not in (await admin.get("/admin/providers")).text
    assert shown(sqlite_server, name) is None
    assert not await login_page_offers(sqlite_server, display_name)
    assert (await admin.get(f"/admin/providers/{name}")).status_code == 404
    assert name in await audit_text(admin, "provider.deleted")


async def test_provider_forms_without_the_csrf_token_change_nothing(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    name = _name()
    forged = await admin.post("/admin/providers/new", provider_form(name), with_csrf=False)
    assert forged.status_code == 400
    assert "The form expired or was sent from another site" in page_text(forged.text)
    assert shown(sqlite_server, name) is None
    await add(admin, name)
    for path, data in (
        (f"/admin/providers/{name}/delete", {}),
        (f"/admin/providers/{name}/enabled", {"enabled": "0"}),
        (f"/admin/providers/{name}", dict(provider_form(name, display_name="Forged"))),
    ):
        response = await admin.post(path, data, with_csrf=False)
        assert response.status_code == 400, path
    after = shown(sqlite_server, name)
    assert after is not None
    assert (after["enabled"], after["display_name"]) == (True, f"Provider {name}")


# -- check, and the warning about unverified emails ------------------------------------------


@pytest.mark.browser
async def test_check_button_reports_an_unreachable_issuer(
    sqlite_server: LiveServer, admin: ConsoleSession, page: Any
) -> None:
    name, port = _name(), free_port()
    await add(admin, name, issuer=f"http://127.0.0.1:{port}")
    await page.goto(f"{sqlite_server.url}/login?next=/admin/providers/{name}")
    await log_in_page(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Check", exact=True).click()
    result = page.get_by_role("region", name="Check")
    text = " ".join((await result.inner_text()).split())
    assert f"1 check failed: logging in through Provider {name} will not work until it is fixed." in text
    assert (
        f"FAIL discovery This server could not connect to Provider {name} at "
        f"http://127.0.0.1:{port}/.well-known/openid-configuration" in text
    )
    assert f"Make sure http://127.0.0.1:{port} is running" in text
    assert f"info callback URL {sqlite_server.url}/login/{name}/callback" in text
    await shot(page, "provider-check-unreachable")


async def test_startup_warns_about_each_enabled_provider_that_trusts_unverified_emails(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server("sqlite")
    risky, paused, safe = _name("risky"), _name("paused"), _name("safe")
    async with ConsoleSession(server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        await add(
            admin,
            risky,
            preset="frappe",
            issuer="https://erp.example.com",
            scopes="openid all",
            allow_unverified_email="1",
        )
        await add(admin, paused, allow_unverified_email="1", is_enabled=None)
        await add(admin, safe)
        banner = "This provider's emails are trusted without verification."
        risky_page = page_text((await admin.get(f"/admin/providers/{risky}")).text)
        assert banner in risky_page
        assert "whoever controls an account there with the email of a local user logs in here" in risky_page
        assert "Gatepass logs a warning about it at every start." in risky_page
        assert banner in page_text((await admin.get(f"/admin/providers/{paused}")).text)
        assert banner not in page_text((await admin.get(f"/admin/providers/{safe}")).text)
        assert "trusts unverified email" in page_text((await admin.get("/admin/providers")).text)
    log = LogWindow(server)
    server.stop()
    server.start()
    warnings = [entry for entry in log.entries() if entry["level"] == "warning"]
    about_providers = [entry["message"] for entry in warnings if entry["message"].startswith("login provider ")]
    assert about_providers == [
        f"login provider {risky} (https://erp.example.com) has allow_unverified_email on: its emails are trusted "
        "without email_verified, so whoever controls an account there with the email of a local user logs in "
        "here as that user on the first login. Turn this on only for a provider you administer (a Frappe "
        "server sends no email_verified at all)."
    ]
    assert all(entry["logger"] == "gatepass" for entry in warnings if entry["message"].startswith("login provider"))
