"""Helpers for the relying-party tests: a provider Gatepass and an app Gatepass, a browser login.

Everything goes through real processes: `gatepass serve` on loopback, the `gatepass` CLI, and
Debian's Chromium. Nothing here imports Gatepass's code.
"""

from __future__ import annotations

import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from support.html import find_form
from support.rows import rows
from support.server import LiveServer

PASSWORD = "correct-horse-1"
IDP_ROLES = ("Editor", "Auditor", "Reviewer")
APP_ROLES = ("Editor", "Reviewer", "Writer", "Local Only", "Member")


def parallel(*calls: Any) -> list[Any]:
    """Run independent CLI calls at once (each is a process that mostly waits)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(call[0], *call[1:]) for call in calls]
        return [future.result() for future in futures]


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def callback_url(app: LiveServer, name: str) -> str:
    return f"{app.url}/login/{name}/callback"


def register_client(idp: LiveServer, redirect_uri: str, *extra: str) -> dict[str, Any]:
    """A confidential client on the provider, allowed openid profile email roles, no consent screen."""
    args = ["--redirect-uri", redirect_uri, "--skip-authorization"]
    for scope in ("openid", "profile", "email", "roles"):
        args += ["--scope", scope]
    return idp.create_client(*args, *extra, name="App server")


def add_provider(
    app: LiveServer, name: str, issuer: str, client_id: str, secret: str | None, *extra: str, check: bool = True
) -> Any:
    args = ["provider", "add", name, "--preset", "gatepass", "--issuer", issuer, "--client-id", client_id]
    if secret is not None:
        args.append("--client-secret-stdin")
    return app.cli(*args, *extra, "--display-name", f"IdP {name}", input=f"{secret}\n" if secret else None, check=check)


def connect(app: LiveServer, idp: LiveServer, *extra: str, client_args: tuple[str, ...] = ()) -> str:
    """A provider on the app server for a new client on the IdP; returns its name ("Log in with IdP <name>")."""
    name = unique("idp")
    client = register_client(idp, callback_url(app, name), *client_args)
    add_provider(app, name, idp.url, client["client_id"], client["client_secret"], *extra)
    return name


def connect_with_user(
    app: LiveServer, idp: LiveServer, *extra: str, roles: tuple[str, ...] = (), client_args: tuple[str, ...] = ()
) -> tuple[str, dict[str, Any]]:
    """connect() and idp_user() at once (independent processes)."""
    name, user = parallel(
        (lambda: connect(app, idp, *extra, client_args=client_args),), (lambda: idp_user(idp, *roles),)
    )
    return name, user


def idp_user(idp: LiveServer, *roles: str) -> dict[str, Any]:
    return idp.create_user(password=PASSWORD, roles=roles, first_name="Ada", last_name="Lovelace")


def users_of(server: LiveServer) -> dict[str, dict[str, Any]]:
    return {user["email"]: user for user in json.loads(server.cli("user", "list", "--json").stdout)}


def roles_on(server: LiveServer, email: str) -> list[str] | None:
    """A user's roles, read from the server's SQLite database (None: no such user)."""
    users = rows(server, "SELECT id FROM users WHERE email = ?", email)
    if not users:
        return None
    found = rows(
        server,
        "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = ? ORDER BY r.name",
        users[0][0],
    )
    return [row[0] for row in found]


def audit_details(server: LiveServer, event: str) -> list[dict[str, Any]]:
    found = rows(server, "SELECT detail FROM audit_events WHERE event = ? ORDER BY id", event)
    return [json.loads(row[0]) for row in found]


async def start_login(page: Any, app: LiveServer, name: str) -> None:
    """From the app's login page, click "Log in with IdP <name>"."""
    await page.goto(f"{app.url}/login")
    await page.get_by_role("button", name=f"Log in with IdP {name}").click()


async def login_at_idp(page: Any, user: dict[str, Any]) -> None:
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    await page.get_by_role("button", name="Log in", exact=True).click()


async def is_logged_in_on(page: Any, server: LiveServer) -> bool:
    """Both servers share the host 127.0.0.1, so cookies alone cannot tell: ask the server."""
    await page.goto(f"{server.url}/")
    return "/login" not in page.url


async def login_via(page: Any, app: LiveServer, name: str, user: dict[str, Any]) -> int:
    """The whole login in the browser, ending on a page of the app server (home, or an error page).

    Returns the HTTP status of the app's callback (303 when the login worked).
    """
    await page.context.clear_cookies()
    await start_login(page, app, name)
    async with page.expect_response(lambda response: f"/login/{name}/callback" in response.url) as callback:
        await login_at_idp(page, user)
    await page.wait_for_url(f"{app.url}/**")
    await page.wait_for_load_state()
    status: int = (await callback.value).status
    return status


def callback_without_following(app: LiveServer, name: str, user: dict[str, Any]) -> tuple[httpx.Client, str]:
    """The login as a browser without JavaScript would do it, stopping before the app's callback.

    A real browser follows the provider's redirect at once; to tamper with or replay the callback
    the test must hold it. Returns the HTTP client (its cookies are the browser's) and the URL.
    """
    http = httpx.Client(follow_redirects=False, timeout=30)
    try:
        location = http.get(f"{app.url}/login/{name}/start").headers["location"]
        login_page = http.get(location)
        while login_page.is_redirect:
            login_page = http.get(login_page.url.join(login_page.headers["location"]))
        form = find_form(login_page.text, "/login")
        assert form is not None, login_page.text
        posted = http.post(
            login_page.url.join("/login"), data={**form.fields, "email": user["email"], "password": user["password"]}
        )
        assert posted.status_code == 303, posted.text
        redirect = http.get(posted.url.join(posted.headers["location"]))
        assert redirect.status_code == 303, redirect.text
    except BaseException:
        http.close()
        raise
    return http, redirect.headers["location"]
