"""Helpers for the admin console tests: an HTTP session that logs in and posts forms, page fields, screenshots.

Everything goes over real HTTP to a running `gatepass serve`. The route table of the console is
read from the package only to list every admin path, so no page escapes the access tests.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import re
import secrets
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from support import REDIRECT_URI, LiveServer

ARTIFACTS = Path(__file__).parent.parent.parent / "var" / "test-artifacts" / "console"
FRAME_ANCESTORS = "frame-ancestors 'none'"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


class _FieldParser(HTMLParser):
    """Values of inputs and textareas by id, and the page's visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.text: list[str] = []
        self._textarea: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "input" and "id" in values:
            self.values[values["id"]] = values.get("value", "")
        elif tag == "textarea" and "id" in values:
            self._textarea = values["id"]
            self.values[self._textarea] = ""
        self._skip += tag in ("style", "script", "title")
        self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        self._skip -= tag in ("style", "script", "title")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.values[self._textarea] += data
        if not self._skip:
            self.text.append(data)


def fields_of(page: str) -> dict[str, str]:
    parser = _FieldParser()
    parser.feed(page)
    return parser.values


def text_of(page: str) -> str:
    parser = _FieldParser()
    parser.feed(page)
    return " ".join("".join(parser.text).split())


class ConsoleSession:
    """One logged-in person over plain HTTP: cookies kept, redirects not followed."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.http = httpx.AsyncClient(base_url=server.url, follow_redirects=False, timeout=30)

    async def __aenter__(self) -> ConsoleSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def login(self, email: str, password: str) -> ConsoleSession:
        page = await self.http.get("/login")
        response = await self.http.post(
            "/login", data={"csrf_token": self.csrf_in(page.text), "email": email, "password": password, "next": "/"}
        )
        assert response.status_code == 303, text_of(response.text)[:300]
        return self

    @staticmethod
    def csrf_in(page: str) -> str:
        found = _CSRF.search(page)
        assert found is not None, "no csrf_token on the page"
        return html.unescape(found.group(1))

    async def csrf(self) -> str:
        return self.csrf_in((await self.http.get("/login?switch=1")).text)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params or None)

    async def post(self, path: str, data: Any = None, *, with_csrf: bool = True) -> httpx.Response:
        """A form post; ``data`` may be a dict or a list of pairs (for repeated fields such as checkboxes)."""
        pairs: list[tuple[str, str]] = list(data.items() if isinstance(data, dict) else data or [])
        if with_csrf:
            pairs.append(("csrf_token", await self.csrf()))
        return await self.http.post(
            path, content=urlencode(pairs), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )


async def shot(page: Any, name: str) -> Path:
    """A full-page screenshot kept as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def log_in_page(page: Any, email: str, password: str) -> None:
    """Fill the login form the page shows and submit it."""
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await page.wait_for_load_state()


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
    assert response.status_code == 303, text_of(response.text)[:300]
    user_id = int(response.headers["location"].split("/")[3].split("?")[0])
    return {"email": email, "password": password, "id": user_id}


def client_form(app_name: str, **overrides: Any) -> list[tuple[str, str]]:
    """The client form as the page submits it; lists (checkboxes, lines) may be given as tuples."""
    values: dict[str, Any] = {
        "app_name": app_name,
        "client_type": "confidential",
        "token_endpoint_auth_method": "client_secret_basic",
        "redirect_uris": REDIRECT_URI,
        "scopes": ("openid", "profile", "email", "roles", "all"),
        "grant_types": ("authorization_code", "refresh_token"),
        "response_types": ("code",),
        "require_pkce": "1",
        "id_token_signed_response_alg": "RS256",
    }
    values.update(overrides)
    pairs: list[tuple[str, str]] = []
    for name, value in values.items():
        if isinstance(value, tuple):
            pairs.extend((name, item) for item in value)
        elif value is not None:
            pairs.append((name, str(value)))
    return pairs


async def console_client(admin: ConsoleSession, app_name: str, **overrides: Any) -> tuple[str, str | None]:
    """A client registered on the New client page; returns the client_id and secret read from the page."""
    response = await admin.post("/admin/clients/new", client_form(app_name, **overrides))
    assert response.status_code == 303, text_of(response.text)[:300]
    fields = fields_of((await admin.get(response.headers["location"])).text)
    return fields["client-id"], fields.get("client-secret")


# -- the app's side of a code flow ---------------------------------------------------------------


async def exchange_code(server: LiveServer, client_id: str, secret: str, code: str, verifier: str) -> dict[str, Any]:
    """The client redeems a code at the token endpoint, as a web app's backend would."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        response = await http.post(
            "/oauth/token",
            auth=(client_id, secret),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
        )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def settle_on_the_unreachable_callback(page: Any) -> None:
    """The test client's callback does not listen: let the browser finish failing to reach it."""
    from playwright.async_api import Error as PlaywrightError

    with contextlib.suppress(PlaywrightError):
        await page.wait_for_url("http://127.0.0.1:9999/**")
    await page.wait_for_url("chrome-error://**")
