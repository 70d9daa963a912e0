"""Helpers for the document API tests: tokens, logins and request shortcuts over real HTTP."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from support import REDIRECT_URI, LiveServer, unique_email

ACTIONS = ("read", "write", "create", "delete")


def suffix() -> str:
    return secrets.token_hex(3)


@dataclass
class ApiUser:
    email: str
    password: str
    client_id: str
    client_secret: str

    def token(self, server: LiveServer, *scopes: str) -> str:
        """An access token acting as this user (client credentials with the user as service user)."""
        response = httpx.post(
            f"{server.url}/oauth/token",
            data={"grant_type": "client_credentials", "scope": " ".join(scopes)},
            auth=(self.client_id, self.client_secret),
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


def api_user(server: LiveServer, *, scopes: tuple[str, ...], roles: tuple[str, ...] = ()) -> ApiUser:
    """A user with a confidential client whose client_credentials tokens act as that user."""
    user = server.create_user(unique_email("api"), roles=roles)
    scope_args = [arg for scope in scopes for arg in ("--scope", scope)]
    client = server.create_client(
        "--grant-type", "client_credentials", "--service-user", user["email"], *scope_args, name="API test"
    )
    return ApiUser(user["email"], user["password"], client["client_id"], client["client_secret"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge(server: LiveServer, *, is_401: bool = False, **attributes: str) -> str:
    """The WWW-Authenticate value; a 401 also points at the RFC 9728 resource metadata (§5.1)."""
    if is_401:
        attributes["resource_metadata"] = f"{server.url}/.well-known/oauth-protected-resource/api/resource"
    parts = [f'realm="{server.url}"', *(f'{key}="{value}"' for key, value in attributes.items())]
    return "Bearer " + ", ".join(parts)


def add_scope(server: LiveServer, name: str, doctype: str, *actions: str, title: str = "A test scope") -> None:
    server.cli("scope", "add", name, "--doctype", doctype, *(f"--{a}" for a in actions), "--title", title)


# -- browsers: login sessions and the authorization code flow ---------------------------------


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.values.setdefault(str(found["name"]), found.get("value") or "")


def form_values(page: str) -> dict[str, str]:
    parser = _Inputs()
    parser.feed(page)
    return parser.values


@contextlib.contextmanager
def logged_in(server: LiveServer, email: str, password: str) -> Iterator[httpx.Client]:
    """An HTTP client holding a login session cookie, as a browser would after the login form."""
    with httpx.Client(base_url=server.url) as browser:
        page = browser.get("/login")
        fields = {"email": email, "password": password, "csrf_token": form_values(page.text)["csrf_token"], "next": "/"}
        response = browser.post("/login", data=fields)
        assert response.status_code == 303, response.text
        yield browser


def session_csrf(browser: httpx.Client) -> str:
    """The CSRF token a page of this session carries (what a browser script sends as X-Frappe-CSRF-Token)."""
    return form_values(browser.get("/").text)["csrf_token"]


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def authorize(browser: httpx.Client, client_id: str, scope: str, pkce: Pkce, *, path: str = "/oauth/authorize") -> Any:
    """GET the authorization endpoint; returns the response (a consent page or a redirect)."""
    return browser.get(
        path,
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "s1",
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        },
    )


def code_from(response: httpx.Response) -> str:
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI), location
    return dict(parse_qsl(urlsplit(location).query))["code"]


@dataclass
class ScopedWorld:
    """A fresh document type, one document scope per action on it, and users whose clients may ask for them."""

    server: LiveServer
    doctype: str
    scopes: dict[str, str]
    other_scope: str
    owner: ApiUser
    other: ApiUser
    manager: ApiUser
