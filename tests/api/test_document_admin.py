"""Admin management by CLI: document types, permissions, scopes, and clients registered for scopes."""

from __future__ import annotations

import json

import httpx
from api_support import api_user, bearer, suffix

from support.server import LiveServer


def test_doctype_add_show_list_and_remove(sqlite_server: LiveServer) -> None:
    server, name = sqlite_server, f"Ledger{suffix()}"
    server.cli(
        "doctype", "add", name,
        "--field", "title:Data:required:label=Entry",
        "--field", "status:Select:default=Draft:Draft:Posted",
        "--field", "todo:Link:ToDo",
        "--field", "amount:Float",
    )  # fmt: skip
    shown = json.loads(server.cli("doctype", "show", name, "--json").stdout)
    assert [(f["fieldname"], f["fieldtype"], f["required"]) for f in shown["fields"]] == [
        ("title", "Data", True), ("status", "Select", False), ("todo", "Link", False), ("amount", "Float", False),
    ]  # fmt: skip
    assert shown["fields"][1] == {
        "fieldname": "status", "fieldtype": "Select", "label": "Status", "required": False, "default": "Draft",
        "options": ["Draft", "Posted"],
    }  # fmt: skip
    assert name in server.cli("doctype", "list").stdout
    server.cli("permission", "set", name, "All", "--read", "--create")
    shown = json.loads(server.cli("doctype", "show", name, "--json").stdout)
    assert shown["permissions"] == [{"role": "All", "if_owner": False, "actions": ["create", "read"]}]
    user = api_user(server, scopes=("all",))
    headers = bearer(user.token(server, "all"))
    created = httpx.post(f"{server.url}/api/resource/{name}", headers=headers, json={"title": "t", "todo": "nope"})
    assert created.status_code == 417
    assert created.json()["exc_type"] == "LinkValidationError"
    created = httpx.post(f"{server.url}/api/resource/{name}", headers=headers, json={"title": "t"})
    assert created.json()["data"]["status"] == "Draft"
    todo = httpx.post(f"{server.url}/api/resource/ToDo", headers=headers, json={"description": "linked"}).json()["data"]
    linked = httpx.put(
        f"{server.url}/api/resource/{name}/{created.json()['data']['name']}",
        headers=headers,
        json={"todo": todo["name"]},
    )
    assert linked.status_code == 403  # All may read and create here, not write
    server.cli("permission", "set", name, "All", "--read", "--create", "--write")
    linked = httpx.put(
        f"{server.url}/api/resource/{name}/{created.json()['data']['name']}",
        headers=headers,
        json={"todo": todo["name"]},
    )
    assert linked.json()["data"]["todo"] == todo["name"]
    still_linked = httpx.delete(f"{server.url}/api/resource/ToDo/{todo['name']}", headers=headers)
    assert still_linked.status_code == 417
    assert still_linked.json()["exc_type"] == "LinkExistsError"
    refused = server.cli("doctype", "remove", name, check=False)
    assert refused.returncode == 2
    assert f"{name} has 1 documents; give --with-documents to delete them too" in refused.stderr
    server.cli("doctype", "remove", name, "--with-documents")
    assert httpx.get(f"{server.url}/api/resource/{name}", headers=headers).status_code == 404


def test_bad_definitions_say_what_to_fix(sqlite_server: LiveServer) -> None:
    result = sqlite_server.cli("doctype", "add", f"Bad{suffix()}", "--field", "kind:Select", check=False)
    assert result.returncode == 2
    assert "field 'kind': a Select field needs its options" in result.stderr
    result = sqlite_server.cli("scope", "add", "all", "--doctype", "ToDo", "--read", "--title", "x", check=False)
    assert "'all' is a built-in scope name" in result.stderr


def test_clients_may_register_only_builtin_or_defined_document_scopes(sqlite_server: LiveServer) -> None:
    server, scope = sqlite_server, f"notes{suffix()}.read"
    refused = server.cli(
        "client", "add", "--name", "x", "--redirect-uri", "http://127.0.0.1:9/cb", "--scope", scope, check=False
    )
    assert refused.returncode == 2
    assert f"The scope '{scope}' is neither built in" in refused.stderr
    server.cli("scope", "add", scope, "--doctype", "Note", "--read", "--title", "Read your notes")
    assert scope in server.cli("scope", "list").stdout
    client = server.create_client("--scope", scope)
    assert client["scopes"] == [scope]
