"""Fixtures for the OpenID Connect tests: users and clients on each server, made once, in parallel.

`oidc_world` runs on every backend's shared server and holds what the important tests need;
`oidc_sqlite` holds the long tail's users and clients on the shared SQLite server. A test that
needs a user with no consent history uses a client that no other test uses with that user.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import pytest
from oidc_support import POST_LOGOUT_URI, SALES_ROLE

from support.provision import World, provision
from support.server import LiveServer

USERS: dict[str, dict[str, Any]] = {
    # Roles are what the seeds' app servers read from the id_token to sync their own.
    "alice": {"first_name": "Alice", "last_name": "Archer", "roles": ("System Manager", SALES_ROLE)},
}

#: The default relying party: a confidential web app, RS256, code + refresh, RP-initiated logout.
WEB_CLIENT = ("--name", "Web RP", "--post-logout-redirect-uri", POST_LOGOUT_URI)

LONG_TAIL_CLIENTS: dict[str, tuple[str, ...]] = {
    "es256": ("--name", "ES256 RP", "--id-token-alg", "ES256"),
    "eddsa": ("--name", "EdDSA RP", "--id-token-alg", "EdDSA"),
    # Frappe style: the id_token is signed with the client secret.
    "hs256": ("--name", "Frappe HS256 RP", "--id-token-alg", "HS256"),
    "implicit": (
        "--name",
        "Implicit RP",
        "--public",
        "--grant-type",
        "implicit",
        "--response-type",
        "id_token",
        "--response-type",
        "id_token token",
        "--response-type",
        "token",
    ),
    # Used by no test that consents, so prompt=none always finds no consent for it.
    "silent": ("--name", "Silent RP"),
}


def make_world(server: LiveServer, users: dict[str, dict[str, Any]], clients: dict[str, tuple[str, ...]]) -> World:
    return World(server, *provision(server, users, lambda _: clients, roles=(SALES_ROLE,)))


@pytest.fixture(scope="session")
def oidc_world(server: LiveServer) -> World:
    """On each backend: Alice and the default RS256 web client."""
    return make_world(server, USERS, {"web": WEB_CLIENT})


def give_picture(server: LiveServer, user: dict[str, Any], path: str) -> None:
    """Set a profile picture straight in the SQLite database: no command or page sets one yet.

    Frappe keeps relative picture paths (``/files/...``); the claims must make them absolute.
    """
    database = server.database.url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("UPDATE users SET picture_url = ? WHERE email = ?", (path, user["email"]))
    user["picture"] = server.url + path


@pytest.fixture(scope="session")
def oidc_sqlite(sqlite_server: LiveServer) -> World:
    """On the shared SQLite server: every user and client of the long-tail tests; Alice has a picture."""
    world = make_world(sqlite_server, USERS, {"web": WEB_CLIENT, **LONG_TAIL_CLIENTS})
    give_picture(sqlite_server, world.user("alice"), "/files/alice.jpg")
    return world
