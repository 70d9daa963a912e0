"""Users, clients and access tokens on a test server, made through the `gatepass` CLI as an admin would."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from support.cli import run_gatepass_batch
from support.server import PASSWORD, REDIRECT_URI, LiveServer, unique_email


def provision(
    server: LiveServer,
    users: Mapping[str, Mapping[str, Any]],
    clients: Callable[[Mapping[str, Mapping[str, Any]]], Mapping[str, Sequence[str]]],
    *,
    roles: Sequence[str] = (),
    then: Sequence[Sequence[str]] = (),
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Create roles, users, then clients (whose arguments may name those users), then run ``then`` commands.

    All in one process, in order: the CLI's own code paths without a Python start-up for each.
    A role that exists already is left as it is (shared servers keep the roles of earlier tests).
    A user spec takes the keywords of ``LiveServer.create_user``; a client spec is the arguments of
    `gatepass client add`, with the default redirect URI added as ``LiveServer.create_client`` does.
    """
    commands: list[list[str]] = [["role", "add", role] for role in roles]
    planned: dict[str, dict[str, Any]] = {}
    for name, spec in users.items():
        planned[name] = {"email": spec.get("email") or unique_email(name), "password": spec.get("password", PASSWORD)}
        args = ["user", "add", planned[name]["email"], "--password", planned[name]["password"], "--json"]
        args += ["--first-name", spec.get("first_name", "Test"), "--last-name", spec.get("last_name", "User")]
        for role in spec.get("roles", ()):
            args += ["--role", role]
        commands.append(args)
    client_specs = clients(planned)
    for client_args in client_specs.values():
        needs_uri = "--redirect-uri" not in client_args and "client_credentials" not in client_args
        commands.append(
            ["client", "add", "--json", *client_args, *(["--redirect-uri", REDIRECT_URI] if needs_uri else [])]
        )
    done = run_gatepass_batch([*commands, *then], env=server.env, may_fail=len(roles))
    outputs = iter(result.stdout for result in done[len(roles) :])
    made_users = {name: {**json.loads(next(outputs)), "password": planned[name]["password"]} for name in users}
    made_clients = {name: json.loads(next(outputs)) for name in client_specs}
    return made_users, made_clients


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
