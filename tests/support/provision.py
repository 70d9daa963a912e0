"""Users, clients and access tokens on a test server, made through the `gatepass` CLI as an admin would."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from support.server import REDIRECT_URI, LiveServer, unique_email


@dataclass
class World:
    """A server with its users and clients, by name."""

    server: LiveServer
    users: dict[str, dict[str, Any]]
    clients: dict[str, dict[str, Any]]

    def user(self, name: str) -> dict[str, Any]:
        return self.users[name]

    def client(self, name: str) -> dict[str, Any]:
        return self.clients[name]


def provision(
    server: LiveServer,
    users: Mapping[str, Mapping[str, Any]],
    clients: Callable[[Mapping[str, Mapping[str, Any]]], Mapping[str, Sequence[str]]],
    *,
    roles: Sequence[str] = (),
    then: Sequence[Sequence[str]] = (),
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Create roles, then users, then clients (whose arguments may name those users), then run ``then`` commands.

    Each command is a process forked from a warm interpreter (support/cli.py), so those of one kind
    run at once. A role that exists already is left as it is: shared servers keep earlier tests' roles.
    A user spec takes the keywords of ``LiveServer.create_user`` (the email defaults to one made from
    the user's name); a client spec is the arguments of `gatepass client add`, with the default
    redirect URI added as ``LiveServer.create_client`` does.
    """
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda role: server.cli("role", "add", role, check=False), roles))
        made_users = dict(zip(users, pool.map(lambda name: _user(server, name, users[name]), users), strict=True))
        client_specs = clients(made_users)
        made_clients = dict(
            zip(client_specs, pool.map(lambda args: _client(server, args), client_specs.values()), strict=True)
        )
    for args in then:
        server.cli(*args)
    return made_users, made_clients


def _user(server: LiveServer, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return server.create_user(**{"email": unique_email(name), **spec})


def _client(server: LiveServer, args: Sequence[str]) -> dict[str, Any]:
    if "--redirect-uri" not in args and "client_credentials" not in args:
        args = (*args, "--redirect-uri", REDIRECT_URI)
    client: dict[str, Any] = json.loads(server.cli("client", "add", "--json", *args).stdout)
    return client


def service_client(
    server: LiveServer, *, scopes: Sequence[str] = ("all",), roles: tuple[str, ...] = (), name: str = "Service"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new user and a confidential client whose client_credentials tokens act as that user: (user, client)."""
    user = server.create_user(unique_email("service"), roles=roles)
    scope_args = [arg for scope in scopes for arg in ("--scope", scope)]
    client = server.create_client(
        "--grant-type", "client_credentials", "--service-user", user["email"], *scope_args, name=name
    )
    return user, client


def client_credentials_token(server: LiveServer, client: Mapping[str, Any], *scopes: str) -> str:
    """An access token of a client_credentials grant (RFC 6749 §4.4), for ``scopes`` or the client's default."""
    data = {"grant_type": "client_credentials"}
    if scopes:
        data["scope"] = " ".join(scopes)
    response = httpx.post(
        f"{server.url}/oauth/token", data=data, auth=(client["client_id"], client["client_secret"]), timeout=60
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def issue_api_token(server: LiveServer, *, roles: tuple[str, ...] = (), name: str = "Service") -> str:
    """An access token with scope ``all`` for the document API, acting as a new user with ``roles``."""
    _, client = service_client(server, roles=roles, name=name)
    return client_credentials_token(server, client, "all")
