"""Helpers for the document API tests: tokens, logins and request shortcuts over real HTTP."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from support.browser import code_request, redirect_params
from support.html import input_values
from support.pkce import Pkce
from support.provision import client_credentials_token, service_client
from support.server import REDIRECT_URI, LiveServer

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
        client = {"client_id": self.client_id, "client_secret": self.client_secret}
        return client_credentials_token(server, client, *scopes)


def api_user(server: LiveServer, *, scopes: tuple[str, ...], roles: tuple[str, ...] = ()) -> ApiUser:
    """A user with a confidential client whose client_credentials tokens act as that user."""
    user, client = service_client(server, scopes=scopes, roles=roles, name="API test")
    return ApiUser(user["email"], user["password"], client["client_id"], client["client_secret"])


def api_key_pair(server: LiveServer, email: str) -> tuple[str, str]:
    """A new Frappe API key and secret of the user (the CLI replaces any earlier pair)."""
    pair = json.loads(server.cli("user", "api-key", email, "--json").stdout)
    return pair["api_key"], pair["api_secret"]


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


@contextlib.contextmanager
def logged_in(server: LiveServer, email: str, password: str) -> Iterator[httpx.Client]:
    """An HTTP client holding a login session cookie, as a browser would after the login form."""
    with httpx.Client(base_url=server.url) as browser:
        page = browser.get("/login")
        fields = {
            "email": email,
            "password": password,
            "csrf_token": input_values(page.text)["csrf_token"],
            "next": "/",
        }
        response = browser.post("/login", data=fields)
        assert response.status_code == 303, response.text
        yield browser


def session_csrf(browser: httpx.Client) -> str:
    """The CSRF token a page of this session carries (what a browser script sends as X-Frappe-CSRF-Token)."""
    return input_values(browser.get("/").text)["csrf_token"]


def authorize(browser: httpx.Client, client_id: str, scope: str, pkce: Pkce, *, path: str = "/oauth/authorize") -> Any:
    """GET the authorization endpoint; returns the response (a consent page or a redirect)."""
    return browser.get(path, params=code_request({"client_id": client_id}, pkce, scope=scope))


def code_from(response: httpx.Response) -> str:
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI), location
    return redirect_params(location)["code"]


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


def create_memo(world: ScopedWorld, token: str, title: str) -> str:
    """A document of the world's type made through /api/resource with ``token``; its name."""
    response = httpx.post(
        f"{world.server.url}/api/resource/{world.doctype}", headers=bearer(token), json={"title": title}
    )
    assert response.status_code == 200, response.text
    name: str = response.json()["data"]["name"]
    return name
