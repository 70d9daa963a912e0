"""Helpers for the admin console tests: users and clients made on its pages, every admin path, screenshots.

Everything goes over real HTTP to a running `gatepass serve` (the session and the client form are
shared: support/console.py). The route table of the console is read from the package only to list
every admin path, so no page escapes the access tests.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from support.backchannel import SSL_CONTEXT, Backchannel
from support.console import ConsoleSession, client_form
from support.html import page_text, values_by_id
from support.pkce import Pkce, s256
from support.server import LiveServer

ARTIFACTS = Path(__file__).parent.parent.parent / "var" / "test-artifacts" / "console"
FRAME_ANCESTORS = "frame-ancestors 'none'"


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


async def shot(page: Any, name: str) -> Path:
    """A full-page screenshot kept as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def admin_paths(
    *, client_id: str, user_id: int, doctype: str, provider: str, grant_id: int = 1
) -> list[tuple[str, str]]:
    """Every admin route as (method, concrete path), placeholders filled in."""
    from gatepass.web.pages.admin.routes import ADMIN_ROUTES

    filled = []
    for path, method, _ in ADMIN_ROUTES:
        concrete = (
            path.replace("{client_id}", client_id)
            .replace("{user_id:int}", str(user_id))
            .replace("{name}", doctype)
            .replace("{provider}", provider)
            .replace("{grant_id:int}", str(grant_id))
        )
        filled.append((method, concrete))
    return filled


async def user_id_of(admin: ConsoleSession, email: str) -> int:
    """The console's id of a user, read from the Users page."""
    listing = await admin.get("/admin/users", q=email)
    found = re.search(r'href="/admin/users/(\d+)">' + re.escape(email) + "<", listing.text)
    assert found is not None, f"{email} is not listed"
    return int(found.group(1))


# -- making things through the console itself --------------------------------------------------


async def console_user(
    admin: ConsoleSession, *, roles: tuple[str, ...] = (), password: str = "correct-horse-1", first_name: str = "Test"
) -> dict[str, Any]:
    """A user created on the Users page; returns email, password and the console's user id."""
    email = f"console-{secrets.token_hex(4)}@example.com"
    pairs = [("email", email), ("first_name", first_name), ("last_name", "User"), ("password", password)]
    response = await admin.post("/admin/users", pairs + [("roles", role) for role in roles])
    assert response.status_code == 303, page_text(response.text)[:300]
    user_id = int(response.headers["location"].split("/")[3].split("?")[0])
    return {"email": email, "password": password, "id": user_id}


async def console_client(admin: ConsoleSession, app_name: str, **overrides: Any) -> tuple[str, str | None]:
    """A client registered on the New client page; returns the client_id and secret read from the page."""
    response = await admin.post("/admin/clients/new", client_form(app_name, **overrides))
    assert response.status_code == 303, page_text(response.text)[:300]
    fields = values_by_id((await admin.get(response.headers["location"])).text)
    return fields["client-id"], fields.get("client-secret")


# -- the app's side of a code flow ---------------------------------------------------------------


async def exchange_code(server: LiveServer, client_id: str, secret: str, code: str, verifier: str) -> dict[str, Any]:
    """The client redeems a code at the token endpoint, as a web app's backend would."""
    client = {"client_id": client_id, "client_secret": secret, "token_endpoint_auth_method": "client_secret_basic"}
    async with httpx.AsyncClient(timeout=30, verify=SSL_CONTEXT) as http:
        return await Backchannel(http, server).tokens(client, code, Pkce(verifier, s256(verifier)))


async def settle_on_the_unreachable_callback(page: Any) -> None:
    """The test client's callback does not listen: let the browser finish failing to reach it."""
    from playwright.async_api import Error as PlaywrightError

    with contextlib.suppress(PlaywrightError):
        await page.wait_for_url("http://127.0.0.1:9999/**")
    await page.wait_for_url("chrome-error://**")


def shown_client(server: LiveServer, client_id: str) -> dict[str, Any]:
    """The client as `gatepass client show --json` prints it."""
    shown: dict[str, Any] = json.loads(server.cli("client", "show", client_id, "--json").stdout)
    return shown
