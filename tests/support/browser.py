"""A browser without JavaScript at the authorization endpoint: it keeps cookies, logs in and answers consent.

It follows the server's own redirects and submits the login and consent forms the pages show, as a
person's browser would, and stops at the first redirect that leaves the server (to the client).
Most flows need no real browser.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import httpx

from support.backchannel import FRAPPE, SSL_CONTEXT
from support.html import find_form, page_text
from support.pkce import Pkce
from support.server import REDIRECT_URI, LiveServer

AUTHORIZE = "/oauth/authorize"
FRAPPE_AUTHORIZE = f"{FRAPPE}.authorize"
CONSENT = "/oauth/consent"
LOGIN = "/login"


def redirect_params(location: str) -> dict[str, str]:
    """The authorization response carried by a redirect, from the fragment if there is one."""
    parts = urlsplit(location)
    return dict(parse_qsl(parts.fragment or parts.query, keep_blank_values=True))


def without_query(location: str) -> str:
    return location.split("#", 1)[0].split("?", 1)[0]


def is_client_redirect(location: str | None, redirect_uri: str = REDIRECT_URI) -> bool:
    return location is not None and without_query(location) == redirect_uri


def code_request(
    client: Mapping[str, Any],
    pkce: Pkce | None = None,
    *,
    scope: str | None = "openid profile email",
    redirect_uri: str | None = REDIRECT_URI,
    **extra: str,
) -> dict[str, str]:
    """An authorization request for response_type=code, with a fresh state."""
    params = {"client_id": client["client_id"], "response_type": "code", "state": secrets.token_urlsafe(12)}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    if scope is not None:
        params["scope"] = scope
    if pkce is not None:
        params.update(pkce.params)
    params.update(extra)
    return params


@dataclass
class AuthorizationOutcome:
    """Where the authorization endpoint left the browser."""

    response: httpx.Response
    #: Pages shown on the way: "login", "consent".
    pages: list[str]

    @property
    def location(self) -> str:
        location: str | None = self.response.headers.get("location")
        assert location is not None, f"no redirect: {self.response.status_code} {page_text(self.response.text)[:500]}"
        return location

    @property
    def params(self) -> dict[str, str]:
        return redirect_params(self.location)

    @property
    def code(self) -> str:
        params = self.params
        assert "code" in params, f"no code in {self.location}"
        return params["code"]

    @property
    def saw_consent(self) -> bool:
        return "consent" in self.pages


class HttpBrowser:
    """A browser without JavaScript: keeps cookies, follows the server's own redirects, fills forms."""

    def __init__(self, server: LiveServer, user: Mapping[str, Any] | None = None) -> None:
        self.server = server
        self.user = user
        # No keep-alive: a connection idle past the server's keep-alive timeout can be closed by the
        # server just as the next request is sent on it, and shared browsers sit idle between tests.
        self.http = httpx.AsyncClient(
            base_url=server.url,
            follow_redirects=False,
            timeout=60,
            limits=httpx.Limits(max_keepalive_connections=0),
            verify=SSL_CONTEXT,
        )

    async def __aenter__(self) -> HttpBrowser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def login(self) -> None:
        """Log in directly, without an authorization request."""
        response = await self.submit_login(await self.http.get(LOGIN), next_url="/")
        assert response.status_code == 303, page_text(response.text)

    async def submit_login(self, page: httpx.Response, next_url: str | None = None) -> httpx.Response:
        assert self.user is not None, "this browser has no user to log in with"
        form = find_form(page.text, LOGIN)
        assert form is not None, f"no login form: {page_text(page.text)[:400]}"
        data = {**form.fields, "email": self.user["email"], "password": self.user["password"]}
        if next_url is not None:
            data["next"] = next_url
        return await self.http.post(LOGIN, data=data)

    async def is_logged_in(self) -> bool:
        """The account page answers only a live session; otherwise it sends the browser to the login page."""
        response = await self.http.get("/")
        assert response.status_code in (200, 303), response.status_code
        return response.status_code == 200

    async def authorize(
        self,
        params: Mapping[str, str],
        *,
        path: str = AUTHORIZE,
        decision: str | None = "allow",
        method: str = "GET",
    ) -> AuthorizationOutcome:
        """Send an authorization request and play the user: log in, then Allow (or Deny) on consent.

        With ``decision=None`` the consent page is returned as is (an outcome without a redirect).
        """
        if method == "POST":
            response = await self.http.post(path, data=dict(params))
        else:
            response = await self.http.get(f"{path}?{urlencode(dict(params))}")
        return await self.follow(response, decision=decision)

    async def authorize_url(self, url: str, *, decision: str | None = "allow") -> AuthorizationOutcome:
        """Like ``authorize`` for a complete URL built by a client library."""
        return await self.follow(await self.http.get(url), decision=decision)

    async def follow(self, response: httpx.Response, *, decision: str | None = "allow") -> AuthorizationOutcome:
        """Play the user from ``response`` on, until the server answers with something else than its own pages."""
        pages: list[str] = []
        answers_login = False
        for _ in range(12):
            # A login page in answer to the login just sent refused it: that page is the outcome.
            is_login_answer, answers_login = answers_login, False
            location = response.headers.get("location")
            if response.status_code in (302, 303) and location is not None:
                target = urlsplit(urljoin(self.server.url + "/", location))
                if f"{target.scheme}://{target.netloc}" != self.server.url:
                    return AuthorizationOutcome(response, pages)
                response = await self.http.get(location)
                continue
            is_login_page = response.status_code == 200 and find_form(response.text, LOGIN) is not None
            if is_login_page and self.user is not None and not is_login_answer:
                pages.append("login")
                response = await self.submit_login(response)
                answers_login = True
                continue
            consent = find_form(response.text, CONSENT)
            if response.status_code == 200 and consent is not None:
                pages.append("consent")
                if decision is None:
                    return AuthorizationOutcome(response, pages)
                response = await self.http.post(CONSENT, data={**consent.fields, "decision": decision})
                continue
            return AuthorizationOutcome(response, pages)
        raise AssertionError("too many redirects inside the authorization server")


_LOGGED_IN: dict[tuple[str, str], HttpBrowser] = {}


async def logged_in(server: LiveServer, user: Mapping[str, Any]) -> HttpBrowser:
    """A browser of ``user``'s, logged in once per server and shared: for tests that do not watch the login."""
    key = (server.url, user["email"])
    if key not in _LOGGED_IN:
        browser = HttpBrowser(server, user)
        await browser.login()
        _LOGGED_IN[key] = browser
    return _LOGGED_IN[key]


async def close_logged_in() -> None:
    while _LOGGED_IN:
        await _LOGGED_IN.popitem()[1].http.aclose()


def assert_error_redirect(
    outcome: AuthorizationOutcome,
    server: LiveServer,
    error: str,
    description: str,
    *,
    state: str | None,
    redirect_uri: str = REDIRECT_URI,
) -> None:
    """RFC 6749 §4.1.2.1 error response to the verified redirect URI, with iss (RFC 9207)."""
    assert outcome.response.status_code == 303
    assert is_client_redirect(outcome.location, redirect_uri), outcome.location
    expected = {"error": error, "error_description": description, "iss": server.url}
    if state is not None:
        expected["state"] = state
    assert outcome.params == expected


def assert_error_page(response: httpx.Response, *texts: str) -> str:
    """An HTML error page, never a redirect; returns its visible text."""
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    text = page_text(response.text)
    for expected in texts:
        assert expected in text, f"{expected!r} not in page: {text}"
    return text


async def catch_callback(page: Any) -> asyncio.Future[str]:
    """The URL the browser is next sent to at the client's redirect URI, answered here as the app would."""
    callback: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def answer(route: Any) -> None:
        if not callback.done():
            callback.set_result(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="signed in")

    await page.unroute(REDIRECT_URI + "*")
    await page.route(REDIRECT_URI + "*", answer)
    return callback
