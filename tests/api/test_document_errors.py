"""Every failure of the document API, with its exact status, header and body."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest
from api_support import ScopedWorld, api_user, bearer, challenge

from support.server import LiveServer

NO_CREDENTIALS = {
    "exc_type": "AuthenticationError",
    "error_description": "This API needs credentials: Authorization: Bearer <access token>, "
    "Authorization: token <api_key>:<api_secret>, or a login session",
}


def _invalid_token(server: LiveServer, response: httpx.Response, description: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": description}
    assert response.headers["www-authenticate"] == challenge(
        server, is_401=True, error="invalid_token", error_description=description
    )


def test_no_credentials_is_401_with_a_bare_bearer_challenge(world: ScopedWorld) -> None:
    response = httpx.get(f"{world.server.url}/api/resource/ToDo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge(world.server, is_401=True)
    assert response.json() == NO_CREDENTIALS


def test_an_unknown_token_is_invalid_token(world: ScopedWorld) -> None:
    response = httpx.get(f"{world.server.url}/api/resource/ToDo", headers=bearer("not-a-token"))
    _invalid_token(world.server, response, "The access token is invalid")


def test_a_revoked_token_is_invalid_token_saying_revoked(world: ScopedWorld) -> None:
    server = world.server
    token = world.owner.token(server, "all")
    assert httpx.get(f"{server.url}/api/resource/ToDo", headers=bearer(token)).status_code == 200
    revoked = httpx.post(
        f"{server.url}/oauth/revoke", data={"token": token}, auth=(world.owner.client_id, world.owner.client_secret)
    )
    assert revoked.status_code == 200
    response = httpx.get(f"{server.url}/api/resource/ToDo", headers=bearer(token))
    _invalid_token(server, response, "The access token has been revoked")


def test_an_expired_token_is_invalid_token_saying_expired(sqlite_server: LiveServer) -> None:
    user = api_user(sqlite_server, scopes=("all",))
    token = user.token(sqlite_server, "all")
    with sqlite3.connect(sqlite_server.var_dir / "gatepass.db") as database:
        database.execute("UPDATE access_tokens SET expires_at = '2001-01-01 00:00:00.000000'")
    response = httpx.get(f"{sqlite_server.url}/api/resource/ToDo", headers=bearer(token))
    _invalid_token(sqlite_server, response, "The access token has expired; use the refresh token to get a new one")


def test_a_malformed_bearer_header_is_invalid_request(world: ScopedWorld) -> None:
    response = httpx.get(f"{world.server.url}/api/resource/ToDo", headers={"Authorization": "Bearer a b"})
    description = "The Authorization header must be 'Bearer <token>'"
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}
    assert response.headers["www-authenticate"] == challenge(
        world.server, error="invalid_request", error_description=description
    )


def test_insufficient_scope_names_the_scope_needed(world: ScopedWorld) -> None:
    token = world.owner.token(world.server, world.scopes["read"])
    response = httpx.post(
        f"{world.server.url}/api/resource/{world.doctype}", headers=bearer(token), json={"title": "x"}
    )
    scope = world.scopes["create"]
    description = (
        f"The access token's scopes do not allow create on {world.doctype}; it needs the scope '{scope}' (or 'all')"
    )
    assert response.status_code == 403
    assert response.json() == {"error": "insufficient_scope", "error_description": description, "scope": scope}
    assert response.headers["www-authenticate"] == challenge(
        world.server, error="insufficient_scope", error_description=description, scope=scope
    )


def test_a_role_refusal_is_a_permission_error_distinct_from_insufficient_scope(world: ScopedWorld) -> None:
    server = world.server
    server.cli("permission", "set", world.doctype, "All", "--read", "--write", "--delete", "--if-owner")
    try:
        response = httpx.post(
            f"{server.url}/api/resource/{world.doctype}",
            headers=bearer(world.owner.token(server, "all")),
            json={"title": "x"},
        )
    finally:
        server.cli("permission", "set", world.doctype, "All", "--read", "--write", "--create", "--delete", "--if-owner")
    message = f"Not permitted: your roles do not allow create on {world.doctype} documents"
    assert response.status_code == 403
    assert "www-authenticate" not in response.headers
    assert response.json() == {
        "exc_type": "PermissionError",
        "error": "permission_denied",
        "error_description": message,
        "_error_message": message,
        "_server_messages": json.dumps(
            [json.dumps({"message": message, "title": "Message", "indicator": "red", "raise_exception": 1})]
        ),
    }


@pytest.mark.parametrize(
    ("body", "status", "exc_type", "field", "message"),
    [
        ({}, 417, "MandatoryError", "title", "title: Title is required"),
        ({"title": "x" * 141}, 417, "ValidationError", "title", "title: the text is longer than 140 characters"),
        ({"title": "nul\u0000"}, 417, "ValidationError", "title", "title: the text contains a NUL character"),
        ([1, 2], 417, "ValidationError", "body", "body: send a JSON object of field values"),
        (
            {"title": "x", "name": "a/b"},
            417,
            "ValidationError",
            "name",
            "name: a name is text without '/', control characters or surrounding spaces",
        ),
    ],
    ids=["missing-required", "too-long", "nul", "not-an-object", "bad-name"],
)
def test_validation_failures_are_417_and_name_the_field(
    world: ScopedWorld, body: object, status: int, exc_type: str, field: str, message: str
) -> None:
    response = httpx.post(
        f"{world.server.url}/api/resource/{world.doctype}",
        headers=bearer(world.owner.token(world.server, "all")),
        json=body,
    )
    assert response.status_code == status
    assert {k: response.json()[k] for k in ("exc_type", "field", "error_description")} == {
        "exc_type": exc_type,
        "field": field,
        "error_description": message,
    }


def test_a_duplicate_name_is_409_and_unknown_things_are_404(world: ScopedWorld) -> None:
    # The manager reads every document, so may choose names (docs/documents.md, "Create").
    server, headers = world.server, bearer(world.manager.token(world.server, "all"))
    url = f"{server.url}/api/resource/{world.doctype}"
    assert httpx.post(url, headers=headers, json={"title": "a", "name": f"fixed-{world.doctype}"}).status_code == 200
    duplicate = httpx.post(url, headers=headers, json={"title": "b", "name": f"fixed-{world.doctype}"})
    assert duplicate.status_code == 409
    assert duplicate.json()["exc_type"] == "DuplicateEntryError"
    assert duplicate.json()["error_description"] == f"{world.doctype} fixed-{world.doctype} already exists"
    unknown_type = httpx.get(f"{server.url}/api/resource/NoSuchType", headers=headers)
    assert unknown_type.status_code == 404
    assert unknown_type.json()["error_description"] == "DocType NoSuchType not found"
    unknown_document = httpx.get(f"{url}/missing", headers=headers)
    assert unknown_document.status_code == 404
    assert unknown_document.json()["error_description"] == f"{world.doctype} missing not found"


def test_a_stale_modified_timestamp_refuses_the_update(world: ScopedWorld) -> None:
    server, headers = world.server, bearer(world.owner.token(world.server, "all"))
    url = f"{server.url}/api/resource/{world.doctype}"
    created = httpx.post(url, headers=headers, json={"title": "v1"}).json()["data"]
    first = httpx.put(
        f"{url}/{created['name']}", headers=headers, json={"title": "v2", "modified": created["modified"]}
    )
    assert first.status_code == 200
    stale = httpx.put(
        f"{url}/{created['name']}", headers=headers, json={"title": "v3", "modified": created["modified"]}
    )
    assert stale.status_code == 417
    assert stale.json()["exc_type"] == "TimestampMismatchError"
