"""Scopes → permissions: a document scope allows exactly the actions it names, on its type only."""

from __future__ import annotations

import httpx
import pytest
from api_support import ACTIONS, ScopedWorld, bearer, challenge


def _attempts(world: ScopedWorld, token: str, seeded_name: str) -> dict[str, httpx.Response]:
    """One request per action on the world's type, each against a document that exists."""
    url = f"{world.server.url}/api/resource/{world.doctype}"
    headers = bearer(token)
    return {
        "read": httpx.get(f"{url}/{seeded_name}", headers=headers),
        "list": httpx.get(url, headers=headers),
        "create": httpx.post(url, headers=headers, json={"title": "made by the token"}),
        "write": httpx.put(f"{url}/{seeded_name}", headers=headers, json={"body": "changed"}),
        "delete": httpx.delete(f"{url}/{seeded_name}", headers=headers),
    }


def _seed(world: ScopedWorld) -> str:
    token = world.owner.token(world.server, "all")
    created = httpx.post(
        f"{world.server.url}/api/resource/{world.doctype}", headers=bearer(token), json={"title": "seed"}
    )
    assert created.status_code == 200, created.text
    name: str = created.json()["data"]["name"]
    return name


@pytest.mark.parametrize("action", ACTIONS)
def test_a_document_scope_allows_exactly_the_action_it_names(world: ScopedWorld, action: str) -> None:
    name = _seed(world)
    token = world.owner.token(world.server, world.scopes[action])
    responses = _attempts(world, token, name)
    needs = {"read": "read", "list": "read", "create": "create", "write": "write", "delete": "delete"}
    success = {"read": 200, "list": 200, "create": 200, "write": 200, "delete": 202}
    for attempt, response in responses.items():
        needed = needs[attempt]
        if needed == action:
            assert response.status_code == success[attempt], (attempt, response.text)
            continue
        scope = world.scopes[needed]
        description = (
            f"The access token's scopes do not allow {needed} on {world.doctype}; "
            f"it needs the scope '{scope}' (or 'all')"
        )
        assert response.status_code == 403, (attempt, response.text)
        assert response.json() == {"error": "insufficient_scope", "error_description": description, "scope": scope}
        assert response.headers["www-authenticate"] == challenge(
            world.server, error="insufficient_scope", error_description=description, scope=scope
        )


def test_the_all_scope_allows_everything_the_roles_allow(world: ScopedWorld) -> None:
    name = _seed(world)
    responses = _attempts(world, world.owner.token(world.server, "all"), name)
    assert {key: r.status_code for key, r in responses.items()} == {
        "read": 200,
        "list": 200,
        "create": 200,
        "write": 200,
        "delete": 202,
    }


def test_a_scope_on_another_type_reaches_nothing_of_this_one(world: ScopedWorld) -> None:
    name = _seed(world)
    responses = _attempts(world, world.owner.token(world.server, world.other_scope), name)
    assert {r.status_code for r in responses.values()} == {403}
    assert {r.json()["error"] for r in responses.values()} == {"insufficient_scope"}
    to_do = httpx.get(
        f"{world.server.url}/api/resource/ToDo", headers=bearer(world.owner.token(world.server, world.other_scope))
    )
    assert to_do.status_code == 200


def test_a_scope_without_a_role_permission_is_a_permission_error_not_a_scope_error(world: ScopedWorld) -> None:
    """Scope first, then roles: the scope allows delete, but nobody gave the role delete on Note."""
    server = world.server
    tag = world.doctype.removeprefix("Memo")
    note_delete = f"note{tag}.delete"
    server.cli("scope", "add", note_delete, "--doctype", "Note", "--delete", "--title", "Delete your notes")
    server.cli("client", "update", world.other.client_id, "--scope", "all", "--scope", note_delete)
    created = httpx.post(
        f"{server.url}/api/resource/Note", headers=bearer(world.other.token(server, "all")), json={"title": "keep"}
    )
    server.cli("permission", "set", "Note", "All", "--read", "--write", "--create", "--if-owner")
    try:
        response = httpx.delete(
            f"{server.url}/api/resource/Note/{created.json()['data']['name']}",
            headers=bearer(world.other.token(server, note_delete)),
        )
    finally:
        server.cli("permission", "set", "Note", "All", "--read", "--write", "--create", "--delete", "--if-owner")
    message = "Not permitted: your roles do not allow delete on Note documents"
    assert response.status_code == 403
    assert "www-authenticate" not in response.headers
    body = response.json()
    assert body["exc_type"] == "PermissionError"
    assert body["error"] == "permission_denied"
    assert body["error_description"] == message
    assert body["_error_message"] == message


def test_the_system_manager_may_do_everything_its_scopes_allow(world: ScopedWorld) -> None:
    server = world.server
    name = _seed(world)
    read_only = world.manager.token(server, world.scopes["read"])
    url = f"{server.url}/api/resource/{world.doctype}"
    assert httpx.get(f"{url}/{name}", headers=bearer(read_only)).json()["data"]["owner"] == world.owner.email
    refused = httpx.put(f"{url}/{name}", headers=bearer(read_only), json={"body": "no"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    full = world.manager.token(server, "all")
    assert httpx.put(f"{url}/{name}", headers=bearer(full), json={"body": "yes"}).json()["data"]["body"] == "yes"
    assert httpx.delete(f"{url}/{name}", headers=bearer(full)).status_code == 202
