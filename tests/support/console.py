"""The admin console as a person uses it: a logged-in HTTP session that posts forms, and the client form.

Everything goes over real HTTP to a running `gatepass serve`, with the CSRF token every form carries.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

from support.backchannel import FORM_HEADERS
from support.html import input_values, page_text
from support.server import REDIRECT_URI, LiveServer


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
        assert response.status_code == 303, page_text(response.text)[:300]
        return self

    @staticmethod
    def csrf_in(page: str) -> str:
        token = input_values(page).get("csrf_token")
        assert token, "no csrf_token on the page"
        return token

    async def csrf(self) -> str:
        return self.csrf_in((await self.http.get("/login?switch=1")).text)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params or None)

    async def post(self, path: str, data: Any = None, *, with_csrf: bool = True) -> httpx.Response:
        """A form post; ``data`` may be a dict or a list of pairs (for repeated fields such as checkboxes)."""
        pairs: list[tuple[str, str]] = list(data.items() if isinstance(data, dict) else data or [])
        if with_csrf:
            pairs.append(("csrf_token", await self.csrf()))
        return await self.http.post(path, content=urlencode(pairs), headers=FORM_HEADERS)


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


async def log_in_page(page: Any, email: str, password: str) -> None:
    """Fill the login form a Playwright page shows and submit it."""
    await page.fill("#email", email)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in", exact=True).click()
