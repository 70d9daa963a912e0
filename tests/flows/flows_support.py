"""The flow tests' world: the users and clients every flow test can use.

Everything goes over real HTTP to a running `gatepass serve`; the browser, back channel and PKCE
helpers are shared with the other tests (tests/support/).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import authlib.deprecate  # noqa: F401  (Authlib's own warning filter first, so the one below wins)

from support.backchannel import Backchannel
from support.browser import code_request, logged_in
from support.pkce import Pkce
from support.provision import World, provision
from support.server import REDIRECT_URI, LiveServer

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package, which is not released; its httpx fallback is what we test.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client as AsyncOAuth2Client


async def obtain_tokens(
    api: Backchannel, user: Mapping[str, Any], client: Mapping[str, Any], *, scope: str = "openid profile email"
) -> dict[str, Any]:
    """As ``user``, allow ``client`` and redeem the code: the token response."""
    pkce = Pkce.new()
    browser = await logged_in(api.server, user)
    code = (await browser.authorize(code_request(client, pkce, scope=scope))).code
    return await api.tokens(client, code, pkce)


# -- the users and clients every flow test can use ---------------------------------------------

#: The built-in role that the role-restricted client asks for.
ADMIN_ROLE = "System Manager"
NATIVE_REDIRECTS = ("http://127.0.0.1/callback", "http://[::1]/callback", "com.example.app:/callback")
SECOND_REDIRECT = "https://app.example.com/oauth/callback"

CORE_USERS: dict[str, dict[str, Any]] = {
    "alice": {"first_name": "Alice", "last_name": "Archer"},
    "bob": {"first_name": "Bob", "last_name": "Baker"},
    "robot": {"first_name": "Shop", "last_name": "Backend"},
}


def _core_clients(users: Mapping[str, Mapping[str, Any]]) -> dict[str, Sequence[str]]:
    return {
        # A confidential web app: client_secret_basic, PKCE, code + refresh.
        "web": ("--name", "Web App"),
        "post": ("--name", "Post App", "--auth-method", "client_secret_post"),
        # A single-page or mobile app: no secret.
        "spa": ("--name", "Single Page App", "--public"),
        # A resource server that introspects tokens (of any client: an admin marked it so).
        "rs": ("--name", "Resource Server", "--grant-type", "client_credentials", "--resource-server"),
        # The seeds' shop backend: client credentials acting as a service user.
        "shop": (
            *("--name", "Shop Backend", "--grant-type", "client_credentials", "--scope", "all", "--scope", "roles"),
            *("--service-user", users["robot"]["email"]),
        ),
    }


EXTRA_USERS: dict[str, dict[str, Any]] = {
    # Each client carol uses is hers alone, so she meets each for the first time (consent, silent, ...).
    "carol": {"first_name": "Carol", "last_name": "Clerk"},
    "manager": {"first_name": "Mia", "last_name": "Manager", "roles": (ADMIN_ROLE,)},
}

EXTRA_CLIENTS: dict[str, tuple[str, ...]] = {
    "trusted": ("--name", "Trusted App", "--skip-authorization"),
    "roles_only": ("--name", "Managers Only", "--allowed-role", ADMIN_ROLE),
    "plain": ("--name", "Plain PKCE App", "--allow-plain-pkce"),
    "no_pkce": ("--name", "No PKCE App", "--no-require-pkce"),
    "legacy": ("--name", "Frappe Legacy App", "--frappe-legacy"),
    "code_only": ("--name", "Code Only App", "--grant-type", "authorization_code"),
    "no_service_user": ("--name", "Headless App", "--grant-type", "client_credentials"),
    "implicit": ("--name", "Legacy Mobile App", "--public", "--grant-type", "implicit", "--response-type", "token"),
    "native": ("--name", "Native App", "--public", *(a for uri in NATIVE_REDIRECTS for a in ("--redirect-uri", uri))),
    "two_uris": ("--name", "Two URIs App", "--redirect-uri", REDIRECT_URI, "--redirect-uri", SECOND_REDIRECT),
    # Each used by one test only, so that user and client start with no history.
    "consent_auto": ("--name", "Consent Auto App"),
    "silent": ("--name", "Silent App"),
    "browser_app": ("--name", "Browser App"),
}


def make_world(server: LiveServer, *, extended: bool) -> World:
    users, clients = provision(
        server,
        {**CORE_USERS, **(EXTRA_USERS if extended else {})},
        lambda made: {**_core_clients(made), **(EXTRA_CLIENTS if extended else {})},
    )
    return World(server, users, clients)
