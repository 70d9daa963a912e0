"""Owner-only documents stay unconfirmed by every side door: a create, a Link, a delete.

With owner-only rights a GET of someone else's document is 404; a create with its name, a Link
to it or a delete held back by a link the owner cannot see would confirm it all the same.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from support.provision import issue_api_token
from support.server import LiveServer


@dataclass(frozen=True)
class Shelf:
    """Per backend: Projects and Tasks that link to them, everyone's rights owner-only."""

    server: LiveServer
    project: str
    task: str
    #: A role that reads every project (an unconditional row), still owner-only on tasks.
    readers_role: str
    manager: str


@pytest.fixture(scope="module")
def shelf(server: LiveServer) -> Shelf:
    tag = secrets.token_hex(3)
    project, task, readers = f"Project{tag}", f"Task{tag}", f"ProjectReaders{tag}"
    server.cli("doctype", "add", project, "--field", "title:Data:required")
    server.cli("doctype", "add", task, "--field", "title:Data:required", "--field", f"project:Link:{project}")
    for doctype in (project, task):
        server.cli("permission", "set", doctype, "All", "--read", "--write", "--create", "--delete", "--if-owner")
    server.cli("role", "add", readers)
    server.cli("permission", "set", project, readers, "--read")
    return Shelf(server, project, task, readers, issue_api_token(server, roles=("System Manager",)))


def _post(shelf: Shelf, token: str, doctype: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{shelf.server.url}/api/resource/{doctype}", headers={"Authorization": f"Bearer {token}"}, json=body
    )


def _created(shelf: Shelf, token: str, doctype: str, body: dict[str, Any]) -> str:
    response = _post(shelf, token, doctype, body)
    assert response.status_code == 200, response.text
    name: str = response.json()["data"]["name"]
    return name


def _without_request_id(response: httpx.Response) -> tuple[int, dict[str, Any]]:
    body = response.json()
    return response.status_code, {key: value for key, value in body.items() if key != "request_id"}


def test_a_create_never_says_a_name_is_taken_by_a_document_the_caller_cannot_see(shelf: Shelf) -> None:
    alice, bob = issue_api_token(shelf.server), issue_api_token(shelf.server)
    secret = _created(shelf, alice, shelf.project, {"title": "Alice's plans"})
    taken = _post(shelf, bob, shelf.project, {"name": secret, "title": "guess"})
    free = _post(shelf, bob, shelf.project, {"name": f"free-{secrets.token_hex(4)}", "title": "guess"})
    message = (
        f"name: you can see only some {shelf.project} documents, so you cannot choose the name; "
        "leave name out to get a generated one"
    )
    assert _without_request_id(taken) == _without_request_id(free)
    assert taken.status_code == 417
    assert {key: taken.json()[key] for key in ("exc_type", "field", "error_description")} == {
        "exc_type": "ValidationError",
        "field": "name",
        "error_description": message,
    }
    # Alice's own names are no secret to her either way: she too leaves names to the server.
    assert _post(shelf, alice, shelf.project, {"name": secret, "title": "again"}).status_code == 417


def test_who_reads_every_document_chooses_names_and_hears_of_duplicates(shelf: Shelf) -> None:
    alice = issue_api_token(shelf.server)
    secret = _created(shelf, alice, shelf.project, {"title": "Alice's plans"})
    chosen = f"chosen-{secrets.token_hex(4)}"
    assert _created(shelf, shelf.manager, shelf.project, {"name": chosen, "title": "named"}) == chosen
    duplicate = _post(shelf, shelf.manager, shelf.project, {"name": secret, "title": "again"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error_description"] == f"{shelf.project} {secret} already exists"


def test_a_link_to_a_document_the_caller_cannot_read_is_refused_as_if_it_did_not_exist(shelf: Shelf) -> None:
    alice, bob = issue_api_token(shelf.server), issue_api_token(shelf.server)
    secret = _created(shelf, alice, shelf.project, {"title": "Alice's plans"})
    missing = f"missing-{secrets.token_hex(4)}"
    to_secret = _post(shelf, bob, shelf.task, {"title": "mine", "project": secret})
    to_missing = _post(shelf, bob, shelf.task, {"title": "mine", "project": missing})
    assert to_secret.status_code == 417
    assert {key: to_secret.json()[key] for key in ("exc_type", "field", "error_description")} == {
        "exc_type": "LinkValidationError",
        "field": "project",
        "error_description": f"project: could not find {shelf.project} {secret}",
    }
    assert to_missing.json()["error_description"] == f"project: could not find {shelf.project} {missing}"
    assert _without_request_id(to_secret)[1].keys() == _without_request_id(to_missing)[1].keys()
    # An update may not add such a link either; a link to her own project is Alice's to make.
    own = _created(shelf, bob, shelf.task, {"title": "mine"})
    updated = httpx.put(
        f"{shelf.server.url}/api/resource/{shelf.task}/{own}",
        headers={"Authorization": f"Bearer {bob}"},
        json={"project": secret},
    )
    assert updated.status_code == 417
    assert updated.json()["exc_type"] == "LinkValidationError"
    assert _post(shelf, alice, shelf.task, {"title": "hers", "project": secret}).status_code == 200


def test_links_the_owner_cannot_see_do_not_block_her_delete(shelf: Shelf) -> None:
    alice, carol = issue_api_token(shelf.server), issue_api_token(shelf.server, roles=(shelf.readers_role,))
    project = _created(shelf, alice, shelf.project, {"title": "Alice's plans"})
    # Carol reads every project, so she may link her (owner-only) task to Alice's.
    carols_task = _created(shelf, carol, shelf.task, {"title": "Carol's", "project": project})
    deleted = httpx.delete(
        f"{shelf.server.url}/api/resource/{shelf.project}/{project}", headers={"Authorization": f"Bearer {alice}"}
    )
    assert deleted.status_code == 202, deleted.text
    assert deleted.json() == {"data": "ok"}
    kept = httpx.get(
        f"{shelf.server.url}/api/resource/{shelf.task}/{carols_task}", headers={"Authorization": f"Bearer {carol}"}
    )
    assert kept.json()["data"]["project"] == project


def test_a_link_the_owner_can_see_still_blocks_her_delete(shelf: Shelf) -> None:
    alice = issue_api_token(shelf.server)
    project = _created(shelf, alice, shelf.project, {"title": "Alice's plans"})
    task = _created(shelf, alice, shelf.task, {"title": "Alice's task", "project": project})
    refused = httpx.delete(
        f"{shelf.server.url}/api/resource/{shelf.project}/{project}", headers={"Authorization": f"Bearer {alice}"}
    )
    assert refused.status_code == 417
    assert refused.json()["exc_type"] == "LinkExistsError"
    assert refused.json()["error_description"] == (
        f"Cannot delete {shelf.project} {project}: a {shelf.task} document links to it"
    )
    assert task
